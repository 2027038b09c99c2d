/**
 * Token refresh against the QBO sandbox, whose refresh tokens die on first use: two refreshers
 * racing for one realm (in one process and in two), and a refresh token Intuit no longer takes.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncJobId } from '../../queues/sync';
import { decryptSecret } from '../../src/crypto';
import { QboConnection, SyncRun, type QboConnectionDoc } from '../../src/db/models';
import { getAccessToken, loadConnection, type TokenDeps } from '../../src/qbo/tokens';
import { requestSync } from '../../src/sync/request';
import { waitForRun } from '../../src/sync/wait';
import { generateCompany } from '../../sandbox/server';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApp, type TestApp } from '../helpers/app';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const GET_TOKEN_SCRIPT = path.join(ROOT, 'test/fixtures/get-access-token.ts');

const REALM_ONE_PROCESS = '4620816365100001';
const REALM_TWO_PROCESSES = '4620816365100002';
const REALM_INVALID_GRANT = '4620816365100003';

describe('QBO token refresh', () => {
  let env: TestEnv;
  let app: TestApp;
  let deps: TokenDeps;

  beforeAll(async () => {
    env = await setupTestEnv('tokens');
    app = await startTestApp(env);
    deps = { redis: app.rt.redis, qbo: app.rt.qbo, tokenKey: app.config.tokenKey, logger: app.rt.logger, keyPrefix: app.config.QUEUE_PREFIX };
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  /** An organisation connected to a small company of its own, first sync done. */
  async function connectedOrg(realmId: string): Promise<{ orgId: string; conn: QboConnectionDoc }> {
    app.sandbox.loadCompany(realmId, generateCompany(3));
    const orgId = await app.createOrg();
    const { run } = await app.connect(orgId, realmId);
    expect(run?.state).toBe('succeeded');
    return { orgId, conn: await loadConnection(orgId) };
  }

  const tokenRequestsSince = (from: number) => app.sandbox.requests.slice(from).filter((r) => r.endpoint === 'token');
  const accessTokenOf = (conn: QboConnectionDoc) => decryptSecret(conn.accessTokenEnc, app.config.tokenKey);

  /** The token works against the API: one small page of employees comes back. */
  async function worksAgainstApi(realmId: string, accessToken: string): Promise<void> {
    const body = (await app.rt.qbo.queryEmployeesPage({ realmId, accessToken }, 1, 10)) as { QueryResponse?: { Employee?: unknown[] } };
    expect(body.QueryResponse?.Employee?.length).toBe(3);
  }

  it('two concurrent refreshes in one process spend the refresh token once and share the new access token', async () => {
    const { orgId, conn } = await connectedOrg(REALM_ONE_PROCESS);
    const oldToken = accessTokenOf(conn);
    // Expired at Intuit and, as far as we know, locally too: both callers must refresh.
    app.sandbox.expireAccessTokens();
    await QboConnection.updateOne({ _id: conn._id }, { $set: { accessTokenExpiresAt: new Date(Date.now() - 60_000) } });
    const expired = await loadConnection(orgId);
    const from = app.sandbox.requests.length;

    const [a, b] = await Promise.all([getAccessToken(deps, expired), getAccessToken(deps, expired)]);

    expect(a).toBe(b);
    expect(a).not.toBe(oldToken);
    const refreshes = tokenRequestsSince(from);
    expect(refreshes.map((r) => r.status)).toEqual([200]);
    const after = await loadConnection(orgId);
    expect(after.tokenVersion).toBe(conn.tokenVersion + 1);
    expect(after.status).toBe('connected');
    expect(accessTokenOf(after)).toBe(a);
    expect(after.accessTokenExpiresAt.getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    await worksAgainstApi(REALM_ONE_PROCESS, a);

    // The stored refresh token is the rotated one, still unused: a forced refresh succeeds.
    const third = await getAccessToken(deps, after, a);
    expect(third).not.toBe(a);
    expect(tokenRequestsSince(from).map((r) => r.status)).toEqual([200, 200]);
    const last = await loadConnection(orgId);
    expect(last.tokenVersion).toBe(conn.tokenVersion + 2);
    expect(accessTokenOf(last)).toBe(third);
    await worksAgainstApi(REALM_ONE_PROCESS, third);
  });

  it('two processes refreshing the same realm at the same moment: one refresh, both get its token', async () => {
    const { orgId, conn } = await connectedOrg(REALM_TWO_PROCESSES);
    const oldToken = accessTokenOf(conn);
    const childEnv = { ...process.env, ...app.env };
    // A slow token answer keeps the first refresher inside its lease while the other arrives.
    app.sandbox.injectFault({ kind: 'slow', endpoint: 'token', delayMs: 500, times: 1 });
    const from = app.sandbox.requests.length;

    const children = [startChild(orgId, childEnv), startChild(orgId, childEnv)];
    // Both have read the same stored (soon "stale") token before either refreshes.
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.go();
    const outputs = await Promise.all(children.map((c) => c.done));

    for (const out of outputs) expect(out).toEqual({ token: expect.any(String) });
    const [first, second] = outputs as { token: string }[];
    expect(first!.token).toBe(second!.token);
    expect(first!.token).not.toBe(oldToken);
    const refreshes = tokenRequestsSince(from);
    // Exactly one refresh reached Intuit, and it was not refused (no invalid_grant).
    expect(refreshes.map((r) => r.status)).toEqual([200]);
    const after = await loadConnection(orgId);
    expect(after.status).toBe('connected');
    expect(after.tokenVersion).toBe(conn.tokenVersion + 1);
    expect(accessTokenOf(after)).toBe(first!.token);
    await worksAgainstApi(REALM_TWO_PROCESSES, first!.token);
  }, 60_000);

  it('invalid_grant: the run fails once with connection_needs_reauth, no retries, and syncs stop', async () => {
    const { orgId, conn } = await connectedOrg(REALM_INVALID_GRANT);
    // Someone spends our refresh token behind the app's back: the stored one is now dead.
    const stored = decryptSecret(conn.refreshTokenEnc, app.config.tokenKey);
    const basic = Buffer.from(`${app.env.QBO_CLIENT_ID}:${app.env.QBO_CLIENT_SECRET}`).toString('base64');
    const res = await fetch(app.sandbox.tokenUrl, {
      method: 'POST',
      headers: { Authorization: `Basic ${basic}`, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: stored }).toString(),
    });
    expect(res.status).toBe(200);
    // Intuit expires the access token; ours still looks valid, so the sync learns it from a 401.
    app.sandbox.expireAccessTokens();
    const from = app.sandbox.requests.length;

    const syncDeps = { redis: app.rt.redis, queues: app.rt.queues, keyPrefix: app.config.QUEUE_PREFIX };
    const { syncRunId } = await requestSync(syncDeps, orgId, 'manual', 'incremental');
    const run = await waitForRun(syncRunId, 30_000, 50);
    expect(run?.state).toBe('failed');
    expect(run?.error.code).toBe('connection_needs_reauth');
    expect(run?.error.message).toMatch(/invalid_grant/);

    const job = await waitForJobState(syncJobId(syncRunId), 'failed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toMatch(/invalid_grant/);

    const after = await loadConnection(orgId);
    expect(after.status).toBe('needs_reauth');
    expect(after.statusReason).toBe('invalid_grant');
    // One refused call, one refresh attempt, and nothing after: no retry storm against Intuit.
    const seen = app.sandbox.requests.slice(from);
    expect(seen.filter((r) => r.endpoint === 'token').map((r) => r.status)).toEqual([400]);
    expect(seen.filter((r) => r.realmId === REALM_INVALID_GRANT).map((r) => r.status)).toEqual([401]);

    // Syncs are paused: a request is refused, and a scheduler tick does nothing.
    await expect(requestSync(syncDeps, orgId, 'manual', 'full')).rejects.toMatchObject({ code: 'connection_needs_reauth' });
    const runsBefore = await SyncRun.countDocuments({ orgId });
    const requestsBefore = app.sandbox.requests.length;
    const tick = await app.rt.queues.sync.add('sync-tick', { orgId }, { jobId: `tick-${orgId}-test` });
    const ticked = await waitForJobState(String(tick.id), 'completed');
    expect(ticked.returnvalue).toEqual({ skipped: 'needs_reauth' });
    expect(await SyncRun.countDocuments({ orgId })).toBe(runsBefore);
    expect(app.sandbox.requests.length).toBe(requestsBefore);
  });

  async function waitForJobState(jobId: string, state: 'completed' | 'failed', timeoutMs = 20_000): Promise<Job> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const current = await app.rt.queues.sync.getJobState(jobId);
      if (current === state) return (await app.rt.queues.sync.getJob(jobId)) as Job;
      if (Date.now() > until) throw new Error(`job ${jobId} is ${current}, not ${state}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
});

interface Child {
  ready: Promise<void>;
  go(): void;
  done: Promise<unknown>;
}

/** `npx tsx test/fixtures/get-access-token.ts <orgId>`: resolves `ready`, waits for go(), then `done` with its JSON line. */
function startChild(orgId: string, childEnv: NodeJS.ProcessEnv): Child {
  const child = spawn('npx', ['tsx', GET_TOKEN_SCRIPT, orgId], { cwd: ROOT, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (/^ready$/m.test(stdout)) markReady();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`get-access-token did not finish in time\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, 45_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last.startsWith('{')) {
        reject(new Error(`get-access-token exited with ${String(code)}\nstdout: ${stdout}\nstderr: ${stderr}`));
        return;
      }
      resolve(JSON.parse(last) as unknown);
    });
  });
  // A child that dies before `ready` must fail the test, not hang it.
  const readyOrDead = Promise.race([ready, done.then(() => Promise.reject(new Error('get-access-token ended before ready')))]);
  return {
    ready: readyOrDead,
    go: () => child.stdin.end('go\n'),
    done,
  };
}
