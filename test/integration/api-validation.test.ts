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
});
