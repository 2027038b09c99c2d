// QuickBooks webhooks end to end: deliveries signed and sent BY THE QBO SANDBOX over HTTP to
// the real API, queued on qbo-webhooks, handled by the real worker, turned into incremental
// syncs of the right organisations, and only those.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/http/app';
import { employeeKey, QboEmployee, SyncRun, type QboEmployeeDoc, type SyncRunDoc } from '../../src/db/models';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApi, VERIFIER_TOKEN, type TestApi } from '../helpers/api';

const REALM_A = '4620816365000301';
const REALM_B = '4620816365000302';
const REALM_C = '4620816365000303';
const emp = (Id: string, GivenName: string, FamilyName: string) => ({ Id, GivenName, FamilyName, DisplayName: `${GivenName} ${FamilyName}` });

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('QuickBooks webhooks over HTTP', () => {
  let env: TestEnv;
  let api: TestApi;
  let hook: string;
  const orgs: Record<string, string> = {};

  const webhookRuns = (orgId: string) => SyncRun.find({ orgId, trigger: 'webhook' }).lean<SyncRunDoc[]>();
  const employee = async (orgId: string, qboId: string) => QboEmployee.findById(employeeKey(orgId, qboId)).lean<QboEmployeeDoc>();
  /** Every delivery handled and every sync finished. */
  const settled = async () =>
    until('queues to settle', async () => {
      const w = await api.app.rt.queues.webhooks.getJobCounts('waiting', 'active', 'delayed');
      // (The sync queue always holds delayed jobs: the next tick of each org's scheduler.)
      const s = await api.app.rt.queues.sync.getJobCounts('waiting', 'active');
      const open = await SyncRun.countDocuments({ state: { $in: ['queued', 'running'] } });
      const busy = [...Object.values(w), ...Object.values(s)].reduce((a, b) => a + b, 0);
      return busy === 0 && open === 0;
    });
  const deliveries = async () => (await api.app.rt.queues.webhooks.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed'));
  const totalDeliveries = async () => Object.values(await deliveries()).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    env = await setupTestEnv('api-webhooks');
    api = await startTestApi(env);
    hook = `${api.url}/webhooks/quickbooks`;
    const sb = api.app.sandbox;
    sb.loadCompany(REALM_A, { employees: [emp('1', 'Ada', 'Byron'), emp('2', 'Alan', 'Turing')] });
    sb.loadCompany(REALM_B, { employees: [emp('1', 'Grace', 'Hopper')] });
    sb.loadCompany(REALM_C, { employees: [emp('1', 'Edsger', 'Dijkstra')] });
    for (const [name, realm] of [['A', REALM_A], ['B', REALM_B], ['C', REALM_C]] as const) {
      orgs[name] = await api.app.createOrg([]);
      const { run } = await api.app.connect(orgs[name] as string, realm);
      expect(run?.state).toBe('succeeded');
    }
  });
  afterAll(async () => {
    await api?.close();
    await env?.close();
  });

  it('a legacy delivery leads to one incremental sync of the right organisation', async () => {
    api.app.sandbox.updateEmployee(REALM_A, '1', { GivenName: 'Augusta', DisplayName: 'Augusta Byron' });
    const res = await api.app.sandbox.sendWebhook(hook, { format: 'legacy', verifierToken: VERIFIER_TOKEN, events: [{ realmId: REALM_A, id: '1', operation: 'Update' }] });
    expect(res.status).toBe(200);
    await settled();
    const runs = await webhookRuns(orgs.A as string);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ state: 'succeeded', mode: 'incremental', requestedMode: 'incremental' });
    expect((await employee(orgs.A as string, '1'))?.givenName).toBe('Augusta');
    expect(await webhookRuns(orgs.B as string)).toHaveLength(0);
  });

  it('a CloudEvents delivery (application/cloudevents+json) does the same', async () => {
    api.app.sandbox.addEmployee(REALM_B, emp('2', 'Katherine', 'Johnson'));
    const res = await api.app.sandbox.sendWebhook(hook, { format: 'cloudevents', verifierToken: VERIFIER_TOKEN, events: [{ realmId: REALM_B, id: '2', operation: 'Create' }] });
    expect(res.status).toBe(200);
    await settled();
    const runs = await webhookRuns(orgs.B as string);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.mode).toBe('incremental');
    expect((await employee(orgs.B as string, '2'))?.givenName).toBe('Katherine');
  });

  it('the same delivery sent 5 times, at once and again later, is one sync', async () => {
    const org = orgs.C as string;
    api.app.sandbox.updateEmployee(REALM_C, '1', { FamilyName: 'Dijkstra-W', DisplayName: 'Edsger Dijkstra-W' });
    const body = JSON.stringify([{ specversion: '1.0', id: 'evt-c-1', source: 'intuit.x', type: 'qbo.employee.updated.v1', time: new Date().toISOString(), intuitaccountid: REALM_C, intuitentityid: '1', data: {} }]);
    const before = await totalDeliveries();
    const send = () => api.app.sandbox.sendWebhook(hook, { format: 'cloudevents', verifierToken: VERIFIER_TOKEN, events: [], body });
    expect((await Promise.all([send(), send(), send(), send(), send()])).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    await settled();
    for (let i = 0; i < 5; i++) expect((await send()).status).toBe(200);
    // The same event in different bytes (a legacy re-send would differ too): de-duplicated by its id.
    const reworded = await api.app.sandbox.sendWebhook(hook, { format: 'cloudevents', verifierToken: VERIFIER_TOKEN, events: [{ realmId: REALM_C, id: '1', operation: 'Update', eventId: 'evt-c-1', time: '2026-01-01T00:00:00Z' }] });
    expect(reworded.status).toBe(200);
    await settled();
    expect(await totalDeliveries()).toBe(before + 2);
    const runs = await webhookRuns(org);
    expect(runs).toHaveLength(1);
    expect(runs[0]?.state).toBe('succeeded');
    expect((await employee(org, '1'))?.familyName).toBe('Dijkstra-W');
  });

  it('a two-realm delivery updates both organisations and only them', async () => {
    const counts = async () => Object.fromEntries(await Promise.all(Object.entries(orgs).map(async ([k, id]) => [k, (await webhookRuns(id)).length])));
    const before = await counts();
    api.app.sandbox.updateEmployee(REALM_A, '2', { GivenName: 'Alan M.', DisplayName: 'Alan M. Turing' });
    api.app.sandbox.updateEmployee(REALM_B, '1', { GivenName: 'Grace B.', DisplayName: 'Grace B. Hopper' });
    const res = await api.app.sandbox.sendWebhook(hook, {
      format: 'legacy',
      verifierToken: VERIFIER_TOKEN,
      events: [
        { realmId: REALM_A, id: '2', operation: 'Update' },
        { realmId: REALM_B, id: '1', operation: 'Update' },
        { realmId: REALM_B, id: '9', operation: 'Update', entity: 'Customer' },
        { realmId: '999999999', id: '1', operation: 'Update' },
      ],
    });
    expect(res.status).toBe(200);
    await settled();
    const after = await counts();
    expect(after).toEqual({ A: (before.A as number) + 1, B: (before.B as number) + 1, C: before.C });
    expect((await employee(orgs.A as string, '2'))?.givenName).toBe('Alan M.');
    expect((await employee(orgs.B as string, '1'))?.givenName).toBe('Grace B.');
  });

  it('ignores deliveries with only non-Employee entities or unknown realms', async () => {
    const before = await SyncRun.countDocuments({ trigger: 'webhook' });
    const res = await api.app.sandbox.sendWebhook(hook, {
      format: 'cloudevents',
      verifierToken: VERIFIER_TOKEN,
      events: [
        { realmId: REALM_A, id: '7', operation: 'Update', entity: 'Customer' },
        { realmId: '123', id: '1', operation: 'Create' },
      ],
    });
    expect(res.status).toBe(200);
    await settled();
    expect(await SyncRun.countDocuments({ trigger: 'webhook' })).toBe(before);
  });

  it('employee changes made through a subscribed sandbox send deliveries by themselves', async () => {
    const before = (await webhookRuns(orgs.A as string)).length;
    api.app.sandbox.subscribeWebhooks({ url: hook, verifierToken: VERIFIER_TOKEN, format: 'cloudevents' });
    try {
      api.app.sandbox.addEmployee(REALM_A, emp('3', 'Barbara', 'Liskov'));
      api.app.sandbox.deactivateEmployee(REALM_A, '2');
      const sent = await api.app.sandbox.flushWebhooks();
      expect(sent.at(-1)).toMatchObject({ status: 200, events: 2 });
    } finally {
      api.app.sandbox.subscribeWebhooks(null);
    }
    await settled();
    expect((await webhookRuns(orgs.A as string)).length).toBe(before + 1);
    expect((await employee(orgs.A as string, '3'))?.givenName).toBe('Barbara');
    expect((await employee(orgs.A as string, '2'))?.active).toBe(false);
  });

  it('refuses a body re-serialized after signing, a missing and a forged signature with 401, queueing nothing', async () => {
    const before = await totalDeliveries();
    const events = [{ realmId: REALM_A, id: '1', operation: 'Update' as const }];
    const reserialized = await api.app.sandbox.sendWebhook(hook, { format: 'legacy', verifierToken: VERIFIER_TOKEN, events, afterSigning: (b) => JSON.stringify(JSON.parse(b) as unknown, null, 2) });
    expect(reserialized.status).toBe(401);
    expect(JSON.parse(reserialized.body)).toMatchObject({ error: { code: 'signature_invalid' } });
    const missing = await api.app.sandbox.sendWebhook(hook, { format: 'legacy', verifierToken: VERIFIER_TOKEN, events, signature: null });
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toMatchObject({ error: { code: 'signature_missing' } });
    const forged = await api.app.sandbox.sendWebhook(hook, { format: 'cloudevents', verifierToken: 'not-the-verifier-token', events });
    expect(forged.status).toBe(401);
    const garbage = await api.app.sandbox.sendWebhook(hook, { format: 'cloudevents', verifierToken: VERIFIER_TOKEN, events, signature: 'abc' });
    expect(garbage.status).toBe(401);
    expect(await totalDeliveries()).toBe(before);
  });

  it('answers non-JSON, truncated JSON, a 2 MB body and a wrong content type with a clear 4xx, and stays up', async () => {
    const before = await totalDeliveries();
    const signed = (body: string, contentType = 'application/json') => api.app.sandbox.sendWebhook(hook, { format: 'legacy', verifierToken: VERIFIER_TOKEN, events: [], body, contentType });
    const notJson = await signed('this is not json');
    expect(notJson.status).toBe(400);
    expect(JSON.parse(notJson.body).error.code).toBe('invalid_json');
    const full = JSON.stringify({ eventNotifications: [{ realmId: REALM_A, dataChangeEvent: { entities: [{ name: 'Employee', id: '1', operation: 'Update', lastUpdated: '2026-01-01T00:00:00Z' }] } }] });
    const truncated = await signed(full.slice(0, full.length - 7));
    expect(truncated.status).toBe(400);
    expect(JSON.parse(truncated.body).error.code).toBe('invalid_json');
    const neither = await signed('{"hello":"world"}');
    expect(neither.status).toBe(400);
    expect(JSON.parse(neither.body).error.code).toBe('unrecognised_envelope');
    const huge = await signed(JSON.stringify({ eventNotifications: [], pad: 'x'.repeat(2 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
    expect(JSON.parse(huge.body).error.code).toBe('body_too_large');
    const wrongType = await signed(full, 'text/plain');
    expect(wrongType.status).toBe(415);
    expect(JSON.parse(wrongType.body).error.code).toBe('unsupported_media_type');
    const form = await signed(full, 'application/x-www-form-urlencoded');
    expect(form.status).toBe(415);
    expect(await totalDeliveries()).toBe(before);
    expect((await api.call('GET', '/healthz', { key: null })).status).toBe(200);
    // And a good delivery still goes through.
    expect((await signed(full)).status).toBe(200);
    await settled();
  });

  it('answers 503 and processes nothing when no verifier token is configured', async () => {
    const rt = api.app.rt;
    const bare = await buildApi({ ...rt, config: { ...rt.config, QBO_WEBHOOK_VERIFIER_TOKEN: undefined } });
    try {
      const before = await totalDeliveries();
      const body = JSON.stringify([]);
      const res = await bare.inject({ method: 'POST', url: '/webhooks/quickbooks', headers: { 'content-type': 'application/json', 'intuit-signature': 'x' }, payload: body });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: { code: 'webhooks_not_configured' } });
      expect(await totalDeliveries()).toBe(before);
    } finally {
      await bare.close();
    }
  });

  it('counts deliveries by outcome in /metrics', async () => {
    const res = await fetch(`${api.url}/metrics`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).toMatch(/qms_webhook_deliveries_total\{outcome="accepted"\} \d+/);
    expect(text).toMatch(/qms_webhook_deliveries_total\{outcome="signature_invalid"\} [1-9]/);
    expect(text).toMatch(/qms_webhook_deliveries_total\{outcome="body_too_large"\} 1/);
    expect(text).toMatch(/qms_webhook_events_total\{outcome="duplicate"\} [1-9]/);
    expect(text).toMatch(/qms_webhook_events_total\{outcome="ignored_entity"\} [1-9]/);
    expect(text).toMatch(/qms_webhook_events_total\{outcome="unknown_realm"\} [1-9]/);
  });
});
