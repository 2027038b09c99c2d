// The admin path over HTTP only: create an organisation → add members → connect through the
// sandbox's OAuth → first sync → members tab → manual sync → import candidates → import with
// invitations (seats checked, e-mails delivered) → disconnect and connect one employee →
// disconnect the integration (revoked at Intuit, schedule gone, members and employees kept) →
// connect again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listSyncSchedules } from '../../queues/schedules';
import { schedulerId } from '../../queues/sync';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApi, type TestApi } from '../helpers/api';

const REALM = '4620816365000501';
const COMPANY = {
  employees: [
    { Id: '1', GivenName: 'Emily', FamilyName: 'Platt', DisplayName: 'Emily Platt', PrimaryEmailAddr: { Address: 'emily@example.com' } },
    { Id: '2', GivenName: 'John', FamilyName: 'Johnson', DisplayName: 'John Johnson' },
    { Id: '3', GivenName: 'Miguel', FamilyName: 'Estevez', DisplayName: 'Miguel Estevez' },
  ],
};

describe('admin path over HTTP', () => {
  let env: TestEnv;
  let api: TestApi;
  let orgId: string;
  let key: string;

  async function pollRun(runId: string) {
    for (let i = 0; i < 300; i++) {
      const res = await api.call('GET', `/api/v1/orgs/${orgId}/qbo/sync-runs/${runId}`, { key });
      expect(res.status).toBe(200);
      if (['succeeded', 'failed'].includes(res.body.syncRun.state as string)) return res.body.syncRun;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`sync run ${runId} did not finish`);
  }

  async function connect(): Promise<string> {
    const start = await api.call('GET', `/api/v1/orgs/${orgId}/qbo/connect`, { key });
    expect(start.status).toBe(302);
    const back = await fetch(start.headers.get('location') as string, { redirect: 'manual' });
    const to = new URL(back.headers.get('location') as string);
    const res = await api.call('GET', `/qbo/callback${to.search}`, { key: null });
    expect(res.status).toBe(200);
    return res.body.firstSyncRunId as string;
  }

  beforeAll(async () => {
    env = await setupTestEnv('api-admin-path');
    api = await startTestApi(env);
    api.app.sandbox.loadCompany(REALM, COMPANY);
  });
  afterAll(async () => {
    await api?.close();
    await env?.close();
  });

  it('creates the organisation and its members', async () => {
    const res = await api.call('POST', '/api/v1/orgs', { body: { name: 'Acme', plan: 'paid', seatLimit: 10 } });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/api/v1/orgs/${res.body.organization.id}`);
    orgId = res.body.organization.id;
    key = res.body.apiKey;
    for (const m of [{ fullName: 'Emily Platt', email: 'emily@example.com' }, { fullName: 'Miguel Estevez' }]) {
      const added = await api.call('POST', `/api/v1/orgs/${orgId}/members`, { key, body: m });
      expect(added.status).toBe(201);
      expect(added.body.member).toMatchObject({ fullName: m.fullName, loginAccess: Boolean(m.email), origin: 'manual' });
    }
    expect((await api.call('GET', `/api/v1/orgs/${orgId}/members`, { key })).body.members).toHaveLength(2);
  });

  it('connects through OAuth and runs the first (full) sync', async () => {
    const runId = await connect();
    const run = await pollRun(runId);
    expect(run).toMatchObject({ state: 'succeeded', trigger: 'connect', mode: 'full', message: 'New members detected to sync' });
    expect(run.counts).toMatchObject({ fetched: 3, created: 3 });
    expect((await api.call('GET', `/api/v1/orgs/${orgId}/qbo`, { key })).body.connection).toMatchObject({ status: 'connected', realmId: REALM });
    expect((await listSyncSchedules(api.app.rt.queues)).map((s) => s.id)).toContain(schedulerId(orgId));
  });

  it('shows the members tab', async () => {
    const tab = await api.call('GET', `/api/v1/orgs/${orgId}/qbo/members`, { key });
    expect(tab.status).toBe(200);
    expect(tab.body.connection).toEqual({ status: 'connected', realmId: REALM });
    expect(tab.body.rows.map((r: { qboId: string; status: string; reason: string | null; matchedBy: string | null }) => [r.qboId, r.status, r.reason, r.matchedBy])).toEqual([
      ['1', 'connected', null, 'email'],
      ['2', 'cannot_connect', 'no_match', null],
      ['3', 'connected', null, 'name'],
    ]);
    expect(tab.body.rows[0].member).toMatchObject({ fullName: 'Emily Platt' });
    expect(tab.body.lastSync).toMatchObject({ state: 'succeeded', message: 'New members detected to sync' });
  });

  it('runs a manual sync: 202, then the run to poll', async () => {
    api.app.sandbox.updateEmployee(REALM, '2', { GivenName: 'Johnny', DisplayName: 'Johnny Johnson' });
    const res = await api.call('POST', `/api/v1/orgs/${orgId}/qbo/sync`, { key });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe(`/api/v1/orgs/${orgId}/qbo/sync-runs/${res.body.syncRunId}`);
    const run = await pollRun(res.body.syncRunId as string);
    expect(run).toMatchObject({ state: 'succeeded', trigger: 'manual', mode: 'incremental' });
    expect(run.counts.updated).toBe(1);
    const full = await api.call('POST', `/api/v1/orgs/${orgId}/qbo/sync`, { key, body: { mode: 'full' } });
    expect(full.status).toBe(202);
    expect((await pollRun(full.body.syncRunId as string)).mode).toBe('full');
    expect((await api.call('POST', `/api/v1/orgs/${orgId}/qbo/sync`, { key, body: { mode: 'sideways' } })).status).toBe(400);
    expect((await api.call('GET', `/api/v1/orgs/${orgId}/qbo/sync-runs/not-an-id`, { key })).status).toBe(404);
  });

  it('lists the import candidates and refuses an import the seats cannot cover (409, nothing created)', async () => {
    api.app.sandbox.addEmployee(REALM, { Id: '4', GivenName: 'Grace', FamilyName: 'Holloway', DisplayName: 'Grace Holloway', PrimaryEmailAddr: { Address: 'grace@example.com' }, Active: true });
    api.app.sandbox.addEmployee(REALM, { Id: '5', GivenName: 'Marcus', FamilyName: 'Bell', DisplayName: 'Marcus Bell', PrimaryEmailAddr: { Address: 'marcus@example.com' }, Active: true });
    for (let i = 6; i <= 13; i++) api.app.sandbox.addEmployee(REALM, { Id: String(i), GivenName: 'Temp', FamilyName: `Worker${i}`, DisplayName: `Temp Worker${i}`, Active: true });
    const res = await api.call('POST', `/api/v1/orgs/${orgId}/qbo/sync`, { key });
    expect((await pollRun(res.body.syncRunId as string)).state).toBe('succeeded');

    const cand = await api.call('GET', `/api/v1/orgs/${orgId}/qbo/import-candidates`, { key });
    expect(cand.status).toBe(200);
    const ids = cand.body.candidates.map((c: { qboId: string }) => c.qboId);
    expect(ids).toEqual(['2', '4', '5', '6', '7', '8', '9', '10', '11', '12', '13']);
    expect(cand.body.candidates[0]).toMatchObject({ qboId: '2', name: 'Johnny Johnson', email: null, active: true });

    const refused = await api.call('POST', `/api/v1/orgs/${orgId}/qbo/imports`, { key, body: { employeeIds: ids, sendInvites: true } });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toMatchObject({ code: 'seat_quota_exceeded', seatsNeeded: 11, seatsFree: 8 });
    expect((await api.call('GET', `/api/v1/orgs/${orgId}/members`, { key })).body.members).toHaveLength(2);

    for (const [body, code] of [
      [{ employeeIds: [] }, 'validation_failed'],
      [{ employeeIds: ['2', '2'], sendInvites: true }, 'duplicate_employee_ids'],
      [{ employeeIds: ['999'], sendInvites: true }, 'unknown_employees'],
      [{ employeeIds: ['2'], sendInvites: 'yes' }, 'validation_failed'],
    ] as const) {
      const bad = await api.call('POST', `/api/v1/orgs/${orgId}/qbo/imports`, { key, body });
      expect(bad.status, JSON.stringify(body)).toBe(400);
      expect(bad.body.error.code).toBe(code);
    }
  });

  it('imports three with invitations: 202, the import to poll, two e-mails, one member without login', async () => {
    const res = await api.call('POST', `/api/v1/orgs/${orgId}/qbo/imports`, { key, body: { employeeIds: ['2', '4', '5'], sendInvites: true } });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ state: 'queued', seatsNeeded: 3 });
    expect(res.headers.get('location')).toBe(`/api/v1/orgs/${orgId}/qbo/imports/${res.body.importId}`);
    let imp;
    for (let i = 0; i < 300; i++) {
      imp = (await api.call('GET', `/api/v1/orgs/${orgId}/qbo/imports/${res.body.importId}`, { key })).body.import;
      if (['succeeded', 'refused', 'failed'].includes(imp.state as string)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(imp).toMatchObject({ state: 'succeeded', counts: { requested: 3, created: 3, skipped: 0, invited: 2 } });
    expect(imp.items.map((i: { qboId: string; outcome: string; invited: boolean }) => [i.qboId, i.outcome, i.invited])).toEqual([
      ['2', 'created', false],
      ['4', 'created', true],
      ['5', 'created', true],
    ]);
    await api.app.mailbox.waitFor(2, 20_000);
    expect(api.app.mailbox.messages.map((m) => m.to[0]).sort()).toEqual(['grace@example.com', 'marcus@example.com']);
    const members = (await api.call('GET', `/api/v1/orgs/${orgId}/members`, { key })).body.members as { fullName: string; loginAccess: boolean; origin: string; invitation: { state: string } }[];
    expect(members).toHaveLength(5);
    expect(members.find((m) => m.fullName === 'Johnny Johnson')).toMatchObject({ loginAccess: false, origin: 'qbo_import', invitation: { state: 'none' } });
    for (let i = 0; i < 100 && members.find((m) => m.fullName === 'Grace Holloway')?.invitation.state !== 'sent'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      members.splice(0, members.length, ...(await api.call('GET', `/api/v1/orgs/${orgId}/members`, { key })).body.members);
    }
    expect(members.find((m) => m.fullName === 'Grace Holloway')).toMatchObject({ loginAccess: true, invitation: { state: 'sent' } });
    const tab = await api.call('GET', `/api/v1/orgs/${orgId}/qbo/members`, { key });
    expect(tab.body.rows.filter((r: { matchedBy: string | null }) => r.matchedBy === 'import')).toHaveLength(3);
    expect((await api.call('GET', `/api/v1/orgs/${orgId}/qbo/import-candidates`, { key })).body.candidates).toHaveLength(8);
    expect((await api.call('GET', `/api/v1/orgs/${orgId}/qbo/imports/0123456789abcdef01234567`, { key })).status).toBe(404);
  });

  it('disconnects one employee and connects it again', async () => {
    const cut = await api.call('POST', `/api/v1/orgs/${orgId}/qbo/members/1/disconnect`, { key });
    expect(cut.status).toBe(200);
    expect(cut.body.link).toMatchObject({ qboId: '1', status: 'disconnected', changed: true });
    const run = await api.call('POST', `/api/v1/orgs/${orgId}/qbo/sync`, { key, body: { mode: 'full' } });
    await pollRun(run.body.syncRunId as string);
    const row = (await api.call('GET', `/api/v1/orgs/${orgId}/qbo/members`, { key })).body.rows.find((r: { qboId: string }) => r.qboId === '1');
    expect(row.status).toBe('disconnected');
    const back = await api.call('POST', `/api/v1/orgs/${orgId}/qbo/members/1/connect`, { key });
    expect(back.status).toBe(200);
    expect(back.body.link).toMatchObject({ status: 'connected', matchedBy: 'email', changed: true, fresh: true });
    const nothing = await api.call('POST', `/api/v1/orgs/${orgId}/qbo/members/6/connect`, { key });
    expect(nothing.body.link).toMatchObject({ status: 'cannot_connect', reason: 'no_match', changed: false });
    expect((await api.call('POST', `/api/v1/orgs/${orgId}/qbo/members/999/connect`, { key })).status).toBe(404);
  });

  it('disconnects: revoked at Intuit, schedule removed, members and employees kept', async () => {
    api.app.sandbox.resetRequests();
    const res = await api.call('DELETE', `/api/v1/orgs/${orgId}/qbo`, { key });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'disconnected', realmId: REALM, revoked: true, alreadyDisconnected: false });
    expect(api.app.sandbox.count('revoke')).toBe(1);
    expect((await listSyncSchedules(api.app.rt.queues)).map((s) => s.id)).not.toContain(schedulerId(orgId));
    expect((await api.call('GET', `/api/v1/orgs/${orgId}/qbo`, { key })).body.connection.status).toBe('disconnected');
    expect((await api.call('GET', `/api/v1/orgs/${orgId}/members`, { key })).body.members).toHaveLength(5);
    const tab = await api.call('GET', `/api/v1/orgs/${orgId}/qbo/members`, { key });
    expect(tab.body.rows).toHaveLength(13);
    expect(tab.body.connection.status).toBe('disconnected');
    const sync = await api.call('POST', `/api/v1/orgs/${orgId}/qbo/sync`, { key });
    expect(sync.status).toBe(409);
    expect(sync.body.error.code).toBe('qbo_not_connected');
    const again = await api.call('DELETE', `/api/v1/orgs/${orgId}/qbo`, { key });
    expect(again.status).toBe(200);
    expect(again.body.alreadyDisconnected).toBe(true);
    expect(api.app.sandbox.count('revoke')).toBe(1);
  });

  it('connects again', async () => {
    const run = await pollRun(await connect());
    expect(run.state).toBe('succeeded');
    expect((await api.call('GET', `/api/v1/orgs/${orgId}/qbo`, { key })).body.connection.status).toBe('connected');
    expect((await listSyncSchedules(api.app.rt.queues)).map((s) => s.id)).toContain(schedulerId(orgId));
  });
});
