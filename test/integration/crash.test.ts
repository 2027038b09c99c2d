/**
 * A worker process killed with SIGKILL in the middle of a full sync: the next worker process
 * takes the job back (BullMQ's stalled-job check), resumes at the page the run had reached and
 * finishes with every employee stored once and every new member reported once.
 *
 * Workers run as real child processes (`tsx workers/main.ts`), configured only by env vars.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { QboEmployee, SyncRun, type QboEmployeeDoc, type SyncRunDoc } from '../../src/db/models';
import { MESSAGES } from '../../src/sync/run-sync';
import { waitForRun } from '../../src/sync/wait';
import { generateCompany } from '../../sandbox/server';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApp, testEnvVars, type TestApp } from '../helpers/app';
import { killTree, startChild, tail, until, type Child } from '../helpers/processes';

const REALM = '4620816365000101';
const EMPLOYEES = 5000;
const PAGE_SIZE = 500;

const children: Child[] = [];
let logDir = '';
let failed = false;

function startWorker(name: string, vars: Record<string, string>): Child {
  const child = startChild(name, vars, { logDir });
  children.push(child);
  return child;
}

describe('a worker killed mid-sync', () => {
  let env: TestEnv;
  let app: TestApp;
  let childVars: Record<string, string>;

  beforeAll(async () => {
    env = await setupTestEnv('crash');
    app = await startTestApp(env, { workers: false });
    logDir = await mkdtemp(path.join(os.tmpdir(), 'crash-test-'));
    childVars = testEnvVars(env, app.sandbox, {
      LOG_LEVEL: 'info',
      QBO_PAGE_SIZE: String(PAGE_SIZE),
      // A dead worker's job comes back within seconds instead of the 30 s default.
      WORKER_LOCK_DURATION_MS: '3000',
      WORKER_STALLED_INTERVAL_MS: '1000',
    });
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') failed = true;
  });
  afterAll(async () => {
    for (const c of children) killTree(c, 'SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await app?.close();
    await env?.close();
    if (failed) process.stderr.write(`crash.test: worker logs kept in ${logDir}\n`);
    else if (logDir) await rm(logDir, { recursive: true, force: true });
  });

  it('resumes on another process and ends with every employee and event exactly once', async () => {
    const company = generateCompany(EMPLOYEES);
    app.sandbox.loadCompany(REALM, company);
    // Every list page answers slowly, so the run is still going when its worker is killed.
    app.sandbox.injectFault({ kind: 'slow', endpoint: 'query', delayMs: 400, times: 10_000 });
    // A few members matched by e-mail: not every employee is a new member.
    const withEmail = company.employees.filter((e) => e.PrimaryEmailAddr?.Address).slice(0, 3);
    const orgId = await app.createOrg(withEmail.map((e, i) => ({ fullName: `Member ${i}`, email: e.PrimaryEmailAddr!.Address! })));

    const first = startWorker('first', childVars);
    const { firstRunId } = await app.connect(orgId, REALM, { wait: false });

    // Killed in the window that matters: the third page's events are queued (they go out before
    // its rows are written) while the run's saved progress still points at that page. Watched in
    // Redis, which never waits for the database's writer.
    const memberEmails = new Set(withEmail.map((e) => e.PrimaryEmailAddr!.Address!));
    const candidatesUpTo = (n: number) =>
      company.employees.slice(0, n).filter((e) => e.Active !== false && !memberEmails.has(e.PrimaryEmailAddr?.Address ?? '')).length;
    const killAt = 2 * PAGE_SIZE;
    // Every state: the worker's member-events consumer moves them on as they arrive.
    const eventsQueued = async () =>
      Object.values(await app.rt.queues.memberEvents.getJobCounts('waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed', 'paused')).reduce((a, b) => a + b, 0);
    // Page one also queues one member.link_changed per member linked on first sight.
    const initialLinks = withEmail.length;
    await until('the third page\'s events to be queued', async () => (await eventsQueued()) > candidatesUpTo(killAt) + initialLinks, 60_000, () => tail(first));
    killTree(first, 'SIGKILL');
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    const requestsBeforeRestart = app.sandbox.requests.length;

    const atKill = await SyncRun.findById(firstRunId).lean<SyncRunDoc>();
    expect(atKill?.state).toBe('running');
    const saved = atKill?.progress?.nextStart ?? 1;
    expect(saved).toBeGreaterThanOrEqual(killAt + 1);
    expect(await QboEmployee.countDocuments({ orgId })).toBeLessThan(EMPLOYEES);

    const second = startWorker('second', childVars);
    const run = await waitForRun(firstRunId, 80_000, 200);
    if (!run) throw new Error(`the run did not finish after the restart\n${tail(second)}`);

    expect(run.state).toBe('succeeded');
    expect(run.mode).toBe('full');
    // One attempt per worker that picked the job up: the killed one and the one that finished.
    expect(run.attempts).toBe(2);
    expect(run.message).toBe(MESSAGES.some);
    expect(run.progress?.nextStart ?? null).toBeNull();

    // The second process resumed where the run was, rather than listing from the start again.
    const startsAfter = app.sandbox.requests
      .slice(requestsBeforeRestart)
      .filter((r) => r.endpoint === 'query')
      .map((r) => Number(/startposition\s+(\d+)/i.exec(r.query ?? '')?.[1]));
    expect(startsAfter.length).toBeGreaterThan(0);
    expect(Math.min(...startsAfter)).toBe(saved);

    const docs = await QboEmployee.find({ orgId }, { qboId: 1, active: 1, deleted: 1, link: 1 }).lean<QboEmployeeDoc[]>();
    expect(docs).toHaveLength(EMPLOYEES);
    expect(new Set(docs.map((d) => d.qboId)).size).toBe(EMPLOYEES);
    expect(docs.filter((d) => d.deleted)).toHaveLength(0);
    expect(docs.filter((d) => d.link.status === 'connected')).toHaveLength(withEmail.length);
    const candidates = docs.filter((d) => d.active && !d.deleted && d.link.status === 'cannot_connect' && d.link.reason === 'no_match');

    // Counts: every row listed once; rows the dead attempt stored count as unchanged, not twice.
    const c = run.counts;
    expect(c.fetched).toBe(EMPLOYEES);
    expect(c.created + c.unchanged + c.updated).toBe(EMPLOYEES);
    expect(c.created).toBeGreaterThan(0);
    expect(c.updated).toBe(0);
    expect(c.deleted).toBe(0);
    expect(c.skipped).toBe(0);
    expect(c.candidates).toBe(candidates.length);
    expect(c.newDetected).toBeLessThanOrEqual(candidates.length);
    // Ten full pages and the empty one that ends the listing; the dead attempt's unsaved page
    // request went with its counts.
    expect(c.qboRequests).toBe(EMPLOYEES / PAGE_SIZE + 1);

    // Exactly one member.new_detected per active unmatched employee, whichever process queued it.
    const jobs = await app.rt.queues.memberEvents.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed', 'paused'], 0, -1);
    const detected = jobs.filter((j) => j.name === 'member.new_detected');
    const byQboId = new Map<string, number>();
    for (const j of detected) byQboId.set(j.data.qboId, (byQboId.get(j.data.qboId) ?? 0) + 1);
    expect([...byQboId.values()].filter((n) => n > 1)).toEqual([]);
    expect(new Set(byQboId.keys())).toEqual(new Set(candidates.map((d) => d.qboId)));
    expect(detected).toHaveLength(candidates.length);
    // One link_changed per member linked on first sight, once each; nothing removed.
    const linked = jobs.filter((j) => j.name === 'member.link_changed');
    expect(linked).toHaveLength(withEmail.length);
    expect(new Set(linked.map((j) => (j.data as { qboId: string }).qboId)).size).toBe(withEmail.length);
    expect(jobs.filter((j) => j.name === 'qbo.employee_removed')).toHaveLength(0);

    // The job came back through BullMQ's stalled-job check of the second process, still alive.
    expect(second.output.join('')).toContain('Job stalled');
    expect(second.proc.exitCode).toBeNull();
  }, 90_000);
});
