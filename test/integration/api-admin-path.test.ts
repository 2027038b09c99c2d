// The admin path over HTTP only, as far as this API goes: create an organisation → add members →
// connect through the sandbox's OAuth → first sync → members tab → manual sync → disconnect
// (revoked at Intuit, schedule gone, members and employees kept) → connect again.
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

  it('disconnects: revoked at Intuit, schedule removed, members and employees kept', async () => {
    api.app.sandbox.resetRequests();
    const res = await api.call('DELETE', `/api/v1/orgs/${orgId}/qbo`, { key });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'disconnected', realmId: REALM, revoked: true, alreadyDisconnected: false });
    expect(api.app.sandbox.count('revoke')).toBe(1);
    expect((await listSyncSchedules(api.app.rt.queues)).map((s) => s.id)).not.toContain(schedulerId(orgId));
    expect((await api.call('GET', `/api/v1/orgs/${orgId}/qbo`, { key })).body.connection.status).toBe('disconnected');
    expect((await api.call('GET', `/api/v1/orgs/${orgId}/members`, { key })).body.members).toHaveLength(2);
    const tab = await api.call('GET', `/api/v1/orgs/${orgId}/qbo/members`, { key });
    expect(tab.body.rows).toHaveLength(3);
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
