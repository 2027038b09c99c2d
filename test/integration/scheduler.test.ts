/**
 * Job schedulers and worker lifecycle with real worker processes (`tsx workers/main.ts`):
 * however many times, and however many at once, worker processes start, each connected
 * organisation has exactly one `sync-schedule-<orgId>` at its own interval, and SIGTERM drains
 * (an active sync finishes) before the process exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureSyncSchedule, listSyncSchedules, removeSyncSchedule } from '../../queues/schedules';
import { schedulerId } from '../../queues/sync';
import { Organization, SyncRun, type SyncRunDoc } from '../../src/db/models';
import { requestSync } from '../../src/sync/request';
import { waitForRun } from '../../src/sync/wait';
import { generateCompany } from '../../sandbox/server';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApp, type TestApp } from '../helpers/app';

const REALM_A = '4620816365000201';
const REALM_B = '4620816365000202';
const DEFAULT_INTERVAL_MIN = 45;
const ROOT = path.resolve(import.meta.dirname, '../..');
// The tsx binary `npx tsx` resolves to. Spawned directly because npm exec does not pass SIGTERM
// on to its child (it exits and leaves the worker running); tsx relays it and returns the
// worker's own exit code. Own process group, so afterAll can kill the whole tree.
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

interface WorkerChild {
  proc: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: WorkerChild[] = [];

function startWorker(vars: Record<string, string>): WorkerChild {
  const proc = spawn(TSX, ['workers/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...vars },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  proc.stdout.on('data', (d: Buffer) => output.push(d.toString()));
  proc.stderr.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  const child = { proc, output, exited };
  children.push(child);
  return child;
}

/** pino lines the child wrote, parsed; lines that are not JSON are kept as `{ msg: line }`. */
function logLines(c: WorkerChild): Record<string, unknown>[] {
  return c.output
    .join('')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return { msg: l };
      }
    });
}

async function until<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 30_000, context: () => string = () => ''): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const tail = (c: WorkerChild) => c.output.join('').split('\n').slice(-15).join('\n');

/** Waits for the child's "Workers started" line (schedules are reconciled just before it). */
async function started(c: WorkerChild): Promise<Record<string, unknown>> {
  return until(
    'the worker to start',
    () => {
      if (c.proc.exitCode !== null) throw new Error(`the worker exited early with ${c.proc.exitCode}\n${tail(c)}`);
      return logLines(c).find((l) => l.msg === 'Workers started');
    },
    30_000,
    () => tail(c),
  );
}

async function stop(c: WorkerChild): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  c.proc.kill('SIGTERM');
  return c.exited;
}

describe('job schedulers and worker lifecycle across processes', () => {
  let env: TestEnv;
  let app: TestApp;
  let vars: Record<string, string>;
  let orgA: string;
  let orgB: string;
  let firstRuns: string[];
  let neverConnected: string;

  const schedulers = async () => {
    const list = await listSyncSchedules(app.rt.queues);
    const queue = app.rt.queues.sync as Queue;
    const withNext = await Promise.all(list.map(async (s) => ({ ...s, next: (await queue.getJobScheduler(s.id))?.next ?? null })));
    return withNext.sort((a, b) => a.id.localeCompare(b.id));
  };
  const expected = (intervalA: number) =>
    [
      { id: schedulerId(orgA), every: intervalA * 60_000 },
      { id: schedulerId(orgB), every: DEFAULT_INTERVAL_MIN * 60_000 },
    ].sort((a, b) => a.id.localeCompare(b.id));

  beforeAll(async () => {
    env = await setupTestEnv('scheduler');
    app = await startTestApp(env, { workers: false, config: { SYNC_DEFAULT_INTERVAL_MINUTES: String(DEFAULT_INTERVAL_MIN) } });
    vars = { ...app.env, LOG_LEVEL: 'info' };
    app.sandbox.loadCompany(REALM_A, generateCompany(25, { seed: 1 }));
    app.sandbox.loadCompany(REALM_B, generateCompany(25, { seed: 2 }));
    orgA = await app.createOrg([], { syncIntervalMinutes: 15 });
    orgB = await app.createOrg(); // the default interval
    neverConnected = await app.createOrg(); // never connected: never scheduled
    const a = await app.connect(orgA, REALM_A, { wait: false });
    const b = await app.connect(orgB, REALM_B, { wait: false });
    firstRuns = [a.firstRunId, b.firstRunId];
  });
  afterAll(async () => {
    for (const c of children) {
      try {
        if (c.proc.pid) process.kill(-c.proc.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await Promise.all(children.map((c) => c.exited));
    await app?.close();
    await env?.close();
  });

  it('one scheduler per connected org after sequential and concurrent starts; SIGTERM exits 0', async () => {
    // Forget the schedulers connecting made (as after a Redis loss): starting a worker restores them.
    for (const orgId of [orgA, orgB]) await removeSyncSchedule(app.rt.queues, orgId);
    expect(await schedulers()).toEqual([]);
    // A schedule left behind for an organisation that is not connected is removed at start.
    await ensureSyncSchedule(app.rt.queues, neverConnected, 30);

    const w1 = startWorker(vars);
    expect((await started(w1)).scheduled).toBe(2);
    const first = await schedulers();
    expect(first.map(({ id, every }) => ({ id, every }))).toEqual(expected(15));
    // The child really works: it runs the first syncs the connections queued.
    for (const runId of firstRuns) expect((await waitForRun(runId, 30_000))?.state).toBe('succeeded');
    expect(await stop(w1)).toEqual({ code: 0, signal: null });

    const w2 = startWorker(vars);
    await started(w2);
    // Unchanged schedulers are left alone: a restart does not even move their next tick.
    expect(await schedulers()).toEqual(first);
    expect(await stop(w2)).toEqual({ code: 0, signal: null });

    // Two processes starting at once, with the schedulers gone again: they race to create them.
    for (const orgId of [orgA, orgB]) await removeSyncSchedule(app.rt.queues, orgId);
    const [w3, w4] = [startWorker(vars), startWorker(vars)];
    await Promise.all([started(w3), started(w4)]);
    const raced = await schedulers();
    expect(raced.map(({ id, every }) => ({ id, every }))).toEqual(expected(15));
    const ticks = (await app.rt.queues.sync.getJobs(['delayed', 'waiting', 'prioritized'], 0, -1)).filter((j) => j.name === 'sync-tick');
    // …and one next tick each, not one per process that upserted.
    expect(ticks.map((j) => j.data.orgId).sort()).toEqual([orgA, orgB].sort());
    expect(await Promise.all([stop(w3), stop(w4)])).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    expect(await schedulers()).toEqual(raced);
  });

  it('an org whose interval changed gets it on the next start, still one scheduler', async () => {
    await Organization.updateOne({ _id: orgA }, { $set: { 'settings.syncIntervalMinutes': 20 } });
    const w = startWorker(vars);
    await started(w);
    expect((await schedulers()).map(({ id, every }) => ({ id, every }))).toEqual(expected(20));
    expect(await stop(w)).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM while a sync is running lets it finish, then exits 0', async () => {
    // The one list page answers after 1.5 s: the sync is mid-request when SIGTERM arrives.
    app.sandbox.injectFault({ kind: 'slow', endpoint: 'query', delayMs: 1500, times: 1 });
    const req = await requestSync({ redis: app.rt.redis, queues: app.rt.queues, keyPrefix: app.config.QUEUE_PREFIX }, orgB, 'manual', 'full');
    const w = startWorker(vars);
    await started(w);
    await until('the sync to be waiting on QBO', async () => {
      const run = await SyncRun.findById(req.syncRunId, { state: 1 }).lean<SyncRunDoc>();
      return run?.state === 'running' && app.sandbox.requests.some((r) => r.endpoint === 'query' && r.realmId === REALM_B && r.status === 0);
    });
    expect(await stop(w)).toEqual({ code: 0, signal: null });
    // No other worker is running: the run finished inside the process that was told to stop.
    const run = await SyncRun.findById(req.syncRunId).lean<SyncRunDoc>();
    expect(run?.state).toBe('succeeded');
    expect(run?.attempts).toBe(1);
    expect(logLines(w).map((l) => l.msg)).toEqual(expect.arrayContaining(['Draining workers', 'Stopped']));
  });

  it('a drain that outlasts WORKER_DRAIN_TIMEOUT_MS, or a second signal, stops the process at once', { timeout: 120_000 }, async () => {
    // A dead worker's job and org lease come back within seconds instead of the defaults.
    const quick = { ...vars, WORKER_LOCK_DURATION_MS: '3000', WORKER_STALLED_INTERVAL_MS: '1000', SYNC_LOCK_TTL_MS: '3000' };
    for (const how of ['deadline', 'second signal'] as const) {
      app.sandbox.injectFault({ kind: 'slow', endpoint: 'query', delayMs: 8000, times: 1 });
      const req = await requestSync({ redis: app.rt.redis, queues: app.rt.queues, keyPrefix: app.config.QUEUE_PREFIX }, orgA, 'manual', 'full');
      const w = startWorker({ ...quick, WORKER_DRAIN_TIMEOUT_MS: how === 'deadline' ? '500' : '60000' });
      await started(w);
      await until(`the sync to be waiting on QBO (${how})`, async () => {
        const run = await SyncRun.findById(req.syncRunId, { state: 1 }).lean<SyncRunDoc>();
        return run?.state === 'running' && app.sandbox.requests.some((r) => r.endpoint === 'query' && r.realmId === REALM_A && r.status === 0);
      });
      const t0 = Date.now();
      w.proc.kill('SIGTERM');
      if (how === 'second signal') {
        await until('the drain to begin', () => logLines(w).some((l) => l.msg === 'Draining workers'));
        w.proc.kill('SIGINT');
      }
      expect(await w.exited, how).toEqual({ code: 1, signal: null });
      // Well before the slow answer: the process did not wait for the job.
      expect(Date.now() - t0, how).toBeLessThan(5000);
      const msgs = logLines(w).map((l) => l.msg);
      expect(msgs.some((m) => typeof m === 'string' && m.startsWith(how === 'deadline' ? 'Drain deadline passed' : 'Second signal')), how).toBe(true);
      // The abandoned job is another worker's to take over, as after a crash.
      const w2 = startWorker(quick);
      await until(`the run to finish in the next worker (${how})`, async () => (await SyncRun.findById(req.syncRunId, { state: 1 }).lean<SyncRunDoc>())?.state === 'succeeded', 60_000, () => tail(w2));
      expect(await stop(w2)).toEqual({ code: 0, signal: null });
    }
  });
});
