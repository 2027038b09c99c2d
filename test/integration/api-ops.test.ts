// Operations over HTTP: Bull Board behind its own credentials, /healthz, /readyz following a
// Redis that stops and comes back (a redis-server of this test's own), /metrics in Prometheus text.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Types } from 'mongoose';
import { TimesheetExport, type TimesheetExportDoc } from '../../src/db/models';
import { startRedis, type RunningRedis } from '../../src/dev/services';
import { buildApi } from '../../src/http/app';
import { signWebhookBody } from '../../sandbox/webhooks';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { ADMIN_KEY, BOARD_PASSWORD, BOARD_USER, startTestApi, VERIFIER_TOKEN, type TestApi } from '../helpers/api';

const REALM = '4620816365000901';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Bull Board, health and metrics', () => {
  let env: TestEnv;
  let api: TestApi;

  beforeAll(async () => {
    env = await setupTestEnv('api-ops');
    api = await startTestApi(env);
  });
  afterAll(async () => {
    await api?.close();
    await env?.close();
  });

  it('keeps Bull Board shut without its credentials, even for the admin API key', async () => {
    for (const authorization of [undefined, `Bearer ${ADMIN_KEY}`, basic(BOARD_USER, 'wrong'), basic('someone', BOARD_PASSWORD), 'Basic !!!']) {
      for (const p of ['/admin/queues', '/admin/queues/api/queues']) {
        const res = await fetch(`${api.url}${p}`, { headers: authorization ? { authorization } : {} });
        expect(res.status, `${p} ${authorization}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
        expect((await res.json()) as unknown).toMatchObject({ error: { code: 'unauthorized' } });
      }
    }
  });

  it('lists every queue, read-only, with its credentials', async () => {
    const headers = { authorization: basic(BOARD_USER, BOARD_PASSWORD) };
    const page = await fetch(`${api.url}/admin/queues`, { headers });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const res = await fetch(`${api.url}/admin/queues/api/queues`, { headers });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { queues: { name: string; readOnlyMode: boolean }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual(api.app.rt.queues.all().map((q) => q.name).sort());
    expect(body.queues.map((q) => q.name)).toEqual(expect.arrayContaining(['qbo-sync', 'member-events', 'qbo-webhooks']));
    expect(body.queues.every((q) => q.readOnlyMode)).toBe(true);
  });

  it('is off (404) when its credentials are not configured', async () => {
    const rt = api.app.rt;
    const bare = await buildApi({ ...rt, config: { ...rt.config, BULL_BOARD_USER: undefined, BULL_BOARD_PASSWORD: undefined } });
    try {
      const res = await bare.inject({ method: 'GET', url: '/admin/queues', headers: { authorization: basic(BOARD_USER, BOARD_PASSWORD) } });
      expect(res.statusCode).toBe(404);
    } finally {
      await bare.close();
    }
  });

  it('serves /healthz and /readyz', async () => {
    expect(await (await fetch(`${api.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { redis: 'up', mongodb: 'up' } });
  });

  it('serves Prometheus metrics: queue depths per queue and state, and the process', async () => {
    await api.app.rt.queues.webhooks.add('delivery', { format: 'legacy', receivedAt: new Date().toISOString(), events: [], unreadable: 0 }, { delay: 60_000 });
    const res = await fetch(`${api.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('# TYPE qms_queue_jobs gauge');
    expect(text).toContain('qms_queue_jobs{queue="qbo-webhooks",state="delayed"} 1');
    expect(text).toContain('qms_queue_jobs{queue="qbo-sync",state="waiting"} 0');
    expect(text).toContain('# TYPE qms_job_duration_seconds histogram');
    expect(text).toMatch(/qms_api_process_cpu_seconds_total \d/);
  });
});

describe('/readyz while Redis is stopped', () => {
  let env: TestEnv;
  let api: TestApi;
  let redis: RunningRedis;
  let dataDir: string;

  beforeAll(async () => {
    env = await setupTestEnv('api-readyz');
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'qbo-sync-readyz-'));
    redis = await startRedis({ dataDir });
    api = await startTestApi(env, { workers: false, config: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    await api?.close();
    await redis?.stop();
    await env?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('turns 503 naming Redis while it is down, and 200 once it is back', async () => {
    const readyz = async () => {
      const res = await fetch(`${api.url}/readyz`);
      return { status: res.status, body: (await res.json()) as { checks: Record<string, string> } };
    };
    expect((await readyz()).status).toBe(200);
    const created = await api.call('POST', '/api/v1/orgs', { body: { name: 'Redis outage' } });
    expect(created.status).toBe(201);
    const { organization: org, apiKey } = created.body as { organization: { id: string }; apiKey: string };
    // A connected organisation with time to export, for a request that stores before it queues.
    api.app.sandbox.loadCompany(REALM, { employees: [] });
    await api.app.connect(org.id, REALM, { wait: false });
    const member = await api.call('POST', `/api/v1/orgs/${org.id}/members`, { body: { fullName: 'Ann Outage' } });
    expect(member.status).toBe(201);
    const memberId = (member.body as { member: { id: string } }).member.id;
    expect((await api.call('POST', `/api/v1/orgs/${org.id}/time-entries`, { body: { memberId, date: '2026-11-23', hours: 2 } })).status).toBe(201);
    await redis.stop();
    await until('503', async () => (await readyz()).status === 503);
    const down = await readyz();
    expect(down.body).toEqual({ status: 'not_ready', checks: { redis: 'down', mongodb: 'up' } });
    // The process itself is fine.
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    const started = Date.now();
    await readyz();
    expect(Date.now() - started).toBeLessThan(3000);

    // A webhook cannot be stored now: Intuit is told 503 in time (it retries), not left hanging.
    const body = JSON.stringify([{ specversion: '1.0', id: 'evt-readyz', type: 'qbo.employee.updated.v1', intuitaccountid: '1', intuitentityid: '1' }]);
    const post = () => fetch(`${api.url}/webhooks/quickbooks`, { method: 'POST', headers: { 'content-type': 'application/json', 'intuit-signature': signWebhookBody(body, VERIFIER_TOKEN) }, body });
    const t0 = Date.now();
    const refused = await post();
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('queue_unavailable');
    expect(Date.now() - t0).toBeLessThan(3000);

    // Routes that need Redis answer 503 at once too (an org key is counted in Redis), never hang;
    // so does a scrape of /metrics, whose queue depths live there.
    for (const [method, p, key] of [
      ['GET', `/api/v1/orgs/${org.id}`, apiKey],
      ['POST', `/api/v1/orgs/${org.id}/members`, ADMIN_KEY],
    ] as const) {
      const t = Date.now();
      const res = await api.call(method, p, { key, body: method === 'POST' ? { fullName: 'Ann Other' } : undefined });
      expect(res.status, `${method} ${p}`).toBe(503);
      expect((res.body as { error: { code: string } }).error.code).toBe('queue_unavailable');
      expect(Date.now() - t).toBeLessThan(7000);
    }
    // An export refused with 503 is not left stored to run later: a retry as told makes one export.
    const exp = await api.call('POST', `/api/v1/orgs/${org.id}/qbo/timesheet-exports`, { body: { from: '2026-11-23', to: '2026-11-27' } });
    expect(exp.status).toBe(503);
    const stored = await TimesheetExport.find({ orgId: new Types.ObjectId(org.id) }).lean<TimesheetExportDoc[]>();
    expect(stored.map((d) => [d.state, d.error.code])).toEqual([['failed', 'not_queued']]);
    const scrape = await fetch(`${api.url}/metrics`);
    expect(scrape.status).toBe(503);
    expect(((await scrape.json()) as { error: { code: string } }).error.code).toBe('metrics_unavailable');

    redis = await startRedis({ dataDir, port: redis.port });
    await until('200 again', async () => (await readyz()).status === 200);
    expect((await readyz()).body.checks).toEqual({ redis: 'up', mongodb: 'up' });
    // Intuit's retry of the same delivery is taken once Redis is back.
    expect((await post()).status).toBe(200);
  });
});
