// Input the API must refuse, or must not refuse, with a clear reason: the same domain rules the
// CLI uses (seats, time entries, periods), partial edits of time entries, JSON bodies that
// cannot be trusted or carry nothing, and numbers JSON cannot hold.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Organization } from '../../src/db/models';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApi, type TestApi } from '../helpers/api';

describe('API input validation', () => {
  let env: TestEnv;
  let api: TestApi;
  let orgId: string;
  let memberId: string;
  const entries = () => `/api/v1/orgs/${orgId}/time-entries`;

  beforeAll(async () => {
    env = await setupTestEnv('api-validation');
    api = await startTestApi(env, { workers: false });
    const org = await api.call('POST', '/api/v1/orgs', { body: { name: 'Validation Org' } });
    expect(org.status).toBe(201);
    orgId = org.body.organization.id;
    const m = await api.call('POST', `/api/v1/orgs/${orgId}/members`, { body: { fullName: 'Ann Lee' } });
    expect(m.status).toBe(201);
    memberId = m.body.member.id;
  });
  afterAll(async () => {
    await api?.close();
    await env?.close();
  });

  it('refuses a seat limit out of range with the domain code and message the CLI gives', async () => {
    const before = await Organization.countDocuments();
    for (const seatLimit of [-3, 1_000_001, 1e20, 2.5]) {
      for (const plan of ['paid', 'free']) {
        const res = await api.call('POST', '/api/v1/orgs', { body: { name: `Seats ${seatLimit}`, plan, seatLimit } });
        expect(res.status, `${plan} ${seatLimit}`).toBe(400);
        expect(res.body.error).toMatchObject({ code: 'invalid_seat_limit', message: 'The seat limit must be a whole number from 0 to 1000000' });
      }
    }
    // 99999999999999999999 as written by a client: JSON gives 1e20.
    const raw = await api.call('POST', '/api/v1/orgs', { body: '{"name":"Big","plan":"paid","seatLimit":99999999999999999999}' });
    expect(raw.status).toBe(400);
    expect(raw.body.error.code).toBe('invalid_seat_limit');
    expect(await Organization.countDocuments()).toBe(before);
    const max = await api.call('POST', '/api/v1/orgs', { body: { name: 'Max', plan: 'paid', seatLimit: 1_000_000 } });
    expect(max.status).toBe(201);
    expect(max.body.organization.seatLimit).toBe(1_000_000);
  });

  it('refuses a time entry with both a duration and a start and end', async () => {
    const res = await api.call('POST', entries(), {
      body: { memberId, date: '2026-11-24', hours: 1, start: '2026-11-24T08:00:00-08:00', end: '2026-11-24T09:00:00-08:00' },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_duration', message: 'Give either hours and minutes, or start and end, not both' });
  });

  it('refuses a reversed period when listing time entries, like the export does', async () => {
    const res = await api.call('GET', `${entries()}?from=2026-11-27&to=2026-11-20`);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_period', message: 'The period is reversed: from 2026-11-27 is after to 2026-11-20' });
    const same = await api.call('GET', `${entries()}?from=2026-11-20&to=2026-11-20`);
    expect(same.status).toBe(200);
  });

  it('PATCH changes only the fields it is given; the merged entry is checked like a new one', async () => {
    const created = await api.call('POST', entries(), {
      body: { memberId, date: '2026-11-24', hours: 7, minutes: 30, description: 'Site work', billable: { customerId: '58', hourlyRate: 80 } },
    });
    expect(created.status).toBe(201);
    const id = created.body.timeEntry.id as string;
    const url = `${entries()}/${id}`;

    const hours = await api.call('PATCH', url, { body: { hours: 8 } });
    expect(hours.status).toBe(200);
    expect(hours.body.timeEntry).toMatchObject({
      date: '2026-11-24',
      hours: 8,
      minutes: 30,
      start: null,
      end: null,
      description: 'Site work',
      billable: { customerId: '58', hourlyRate: 80 },
      revision: 2,
    });

    // A span replaces the stored duration, and the other way round.
    const span = await api.call('PATCH', url, { body: { start: '2026-11-24T08:00:00-08:00', end: '2026-11-24T12:00:00-08:00' } });
    expect(span.status).toBe(200);
    expect(span.body.timeEntry).toMatchObject({ hours: null, minutes: null, start: '2026-11-24T08:00:00-08:00', end: '2026-11-24T12:00:00-08:00', description: 'Site work', revision: 3 });
    const endOnly = await api.call('PATCH', url, { body: { end: '2026-11-24T13:00:00-08:00' } });
    expect(endOnly.body.timeEntry).toMatchObject({ start: '2026-11-24T08:00:00-08:00', end: '2026-11-24T13:00:00-08:00', revision: 4 });
    const back = await api.call('PATCH', url, { body: { hours: 2 } });
    expect(back.body.timeEntry).toMatchObject({ hours: 2, minutes: 0, start: null, end: null, revision: 5 });

    // The merged entry is validated: a date the stored start is not on, both kinds at once.
    await api.call('PATCH', url, { body: { start: '2026-11-24T08:00:00-08:00', end: '2026-11-24T09:00:00-08:00' } });
    const moved = await api.call('PATCH', url, { body: { date: '2026-11-25' } });
    expect(moved.status).toBe(400);
    expect(moved.body.error).toMatchObject({ code: 'invalid_date', message: 'start must be on the entry date' });
    const both = await api.call('PATCH', url, { body: { hours: 1, start: '2026-11-24T08:00:00-08:00' } });
    expect(both.status).toBe(400);
    expect(both.body.error.code).toBe('invalid_duration');
    const tooLong = await api.call('PATCH', url, { body: { hours: 25 } });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.code).toBe('invalid_duration');

    // Billing can be removed; nothing else moved; refusals changed nothing.
    const unbilled = await api.call('PATCH', url, { body: { billable: null, description: 'Site work, not billed' } });
    expect(unbilled.status).toBe(200);
    expect(unbilled.body.timeEntry).toMatchObject({ date: '2026-11-24', start: '2026-11-24T08:00:00-08:00', billable: { customerId: null, hourlyRate: null }, description: 'Site work, not billed', revision: 7 });

    // Nothing given, nothing changed: the revision stays (an exported entry is not "edited").
    const empty = await api.call('PATCH', url, { body: {} });
    expect(empty.status).toBe(200);
    expect(empty.body.timeEntry.revision).toBe(7);
    const missing = await api.call('PATCH', `${entries()}/000000000000000000000000`, { body: { hours: 1 } });
    expect(missing.status).toBe(404);
  });

  it('says a number JSON cannot hold must be finite', async () => {
    const res = await api.call('POST', entries(), { body: `{"memberId":"${memberId}","date":"2026-11-24","hours":1e400}` });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.message).toBe('Invalid body: hours must be a finite number');
    const rate = await api.call('POST', entries(), { body: `{"memberId":"${memberId}","date":"2026-11-24","hours":1,"billable":{"customerId":"1","hourlyRate":-1e999}}` });
    expect(rate.status).toBe(400);
    expect(rate.body.error.message).toBe('Invalid body: billable.hourlyRate must be a finite number');
  });

  it('refuses __proto__ and constructor.prototype keys, saying so', async () => {
    for (const body of ['{"name":"X","__proto__":{"admin":true}}', '{"name":"X","constructor":{"prototype":{"admin":true}}}', '{"name":"X","nested":[{"\\u005f_proto__":{}}]}']) {
      const res = await api.call('POST', '/api/v1/orgs', { body });
      expect(res.status, body).toBe(400);
      expect(res.body.error, body).toMatchObject({ code: 'invalid_json', message: 'JSON bodies may not contain __proto__ or constructor.prototype keys' });
    }
    // A plain "constructor" field is data, not poisoning: the schema refuses it as unknown.
    const plain = await api.call('POST', '/api/v1/orgs', { body: '{"name":"X","constructor":"y"}' });
    expect(plain.status).toBe(400);
    expect(plain.body.error.code).toBe('validation_failed');
    const bad = await api.call('POST', '/api/v1/orgs', { body: '{"name": ' });
    expect(bad.body.error).toMatchObject({ code: 'invalid_json', message: 'The request body is not valid JSON' });
  });

  it('answers an unknown route 404 whatever its body; an empty JSON body is no body', async () => {
    const json = { 'content-type': 'application/json' };
    for (const [method, path] of [['DELETE', `/api/v1/orgs/${orgId}`], ['POST', '/api/v1/nothing-here'], ['GET', '/nope']]) {
      const res = await api.call(method as string, path as string, { headers: json });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    // A known route without a body, and one whose body is optional.
    const get = await api.call('GET', `/api/v1/orgs/${orgId}`, { headers: json });
    expect(get.status).toBe(200);
    const noConn = await api.call('POST', `/api/v1/orgs/${orgId}/qbo/sync`, { headers: json });
    expect(noConn.status).toBe(409);
    expect(noConn.body.error.code).toBe('qbo_not_connected');
    // A route that needs a body says so.
    const needs = await api.call('POST', entries(), { headers: json });
    expect(needs.status).toBe(400);
    expect(needs.body.error).toMatchObject({ code: 'validation_failed', message: 'This route needs a JSON request body' });
  });
});
