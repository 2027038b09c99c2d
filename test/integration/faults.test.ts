/**
 * How a sync job lives through the failures Intuit actually serves (QBO.md "Limits and errors"),
 * injected by the QBO sandbox on real HTTP: throttling (JSON, XML, XML with 403), a 401,
 * server errors, a permanent Fault in a 200, a server that never answers, truncated bodies.
 * Each case has a small company, organisation and realm of its own.
 */
import type { Job } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SYNC_JOB_OPTIONS, syncJobId } from '../../queues/sync';
import { SyncRun, type SyncRunDoc } from '../../src/db/models';
import { loadConnection } from '../../src/qbo/tokens';
import { waitForRun } from '../../src/sync/wait';
import { generateCompany, type FaultSpec, type SandboxRequest } from '../../sandbox/server';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApp, type TestApp } from '../helpers/app';

const EMPLOYEES = 4;
let nextRealm = 4620816365200001;

describe('sync jobs under QBO faults', () => {
  let env: TestEnv;
  let app: TestApp;

  beforeAll(async () => {
    env = await setupTestEnv('faults');
    // QBO_HTTP_TIMEOUT_MS is 3000 in testEnvVars: a silent server costs one short attempt.
    app = await startTestApp(env);
  });
  afterEach(() => app?.sandbox.clearFaults());
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  /** A fresh realm and organisation, connected, with its first (clean) sync done. */
  async function connectedOrg(): Promise<{ orgId: string; realmId: string }> {
    const realmId = String(nextRealm++);
    app.sandbox.loadCompany(realmId, generateCompany(EMPLOYEES));
    const orgId = await app.createOrg();
    const { run } = await app.connect(orgId, realmId);
    expect(run?.state).toBe('succeeded');
    return { orgId, realmId };
  }

  interface Outcome {
    run: SyncRunDoc;
    job: Job;
    /** This realm's API requests during the sync, in order. */
    api: SandboxRequest[];
    /** Token-endpoint requests during the sync. */
    token: SandboxRequest[];
  }

  /** A manual full sync with `fault` injected on the employee query; waits for run and job to finish. */
  async function syncUnder(orgId: string, realmId: string, fault: FaultSpec): Promise<Outcome> {
    app.sandbox.injectFault({ endpoint: 'query', ...fault });
    const from = app.sandbox.requests.length;
    const run = await app.sync(orgId, 'full');
    const job = await settledJob(syncJobId(String(run._id)));
    const seen = app.sandbox.requests.slice(from);
    return { run, job, api: seen.filter((r) => r.realmId === realmId), token: seen.filter((r) => r.endpoint === 'token') };
  }

  /** The run is finished before BullMQ records the job's end: wait for that too. */
  async function settledJob(jobId: string, timeoutMs = 20_000): Promise<Job> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const state = await app.rt.queues.sync.getJobState(jobId);
      if (state === 'completed' || state === 'failed') return (await app.rt.queues.sync.getJob(jobId)) as Job;
      if (Date.now() > until) throw new Error(`job ${jobId} is still ${state}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const statuses = (reqs: SandboxRequest[]) => reqs.map((r) => r.status);

  /** Names of the events BullMQ recorded for one job in the queue's event stream, in order. */
  async function jobEvents(jobId: string): Promise<string[]> {
    const entries = await app.rt.redis.xrange(app.rt.queues.sync.keys.events as string, '-', '+');
    const names: string[] = [];
    for (const [, fields] of entries) {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
      if (f.get('jobId') === jobId) names.push(f.get('event') ?? '');
    }
    return names;
  }

  async function expectSucceededAfterThrottle(o: Outcome): Promise<void> {
    expect(o.run.state).toBe('succeeded');
    expect(o.run.counts.fetched).toBe(EMPLOYEES);
    expect(o.run.error.code).toBeNull();
    // Run twice (the throttled attempt and the one after the wait) …
    expect(o.run.attempts).toBe(2);
    expect(await o.job.getState()).toBe('completed');
    expect(o.job.attemptsStarted).toBe(2);
    // … but the wait spent no attempt: BullMQ counts only the successful one.
    expect(o.job.attemptsMade).toBe(1);
    expect(o.job.stacktrace ?? []).toEqual([]);
    // BullMQ's own event log says it was parked in the delayed set, never failed.
    const events = await jobEvents(String(o.job.id));
    expect(events).toContain('delayed');
    expect(events).not.toContain('failed');
    expect(events).not.toContain('retries-exhausted');
    const [throttled, retried] = o.api;
    // The retry came no sooner than the Retry-After of 1 s asked for.
    expect(retried!.at - throttled!.at).toBeGreaterThanOrEqual(950);
  }

  it('429 with a JSON Fault and Retry-After: waits as asked without spending an attempt, then succeeds', async () => {
    const { orgId, realmId } = await connectedOrg();
    const o = await syncUnder(orgId, realmId, { kind: 'throttle-json', retryAfterSec: 1 });
    expect(statuses(o.api)).toEqual([429, 200]);
    await expectSucceededAfterThrottle(o);
  });

  it('429 with an XML Fault (3001): read as throttling, delayed, then succeeds', async () => {
    const { orgId, realmId } = await connectedOrg();
    const o = await syncUnder(orgId, realmId, { kind: 'throttle-xml', retryAfterSec: 1 });
    expect(statuses(o.api)).toEqual([429, 200]);
    await expectSucceededAfterThrottle(o);
  });

  it('403 with an XML ThrottleExceeded (3001): throttling, not a lost authorisation', async () => {
    const { orgId, realmId } = await connectedOrg();
    const o = await syncUnder(orgId, realmId, { kind: 'throttle-xml-403', retryAfterSec: 1 });
    expect(statuses(o.api)).toEqual([403, 200]);
    await expectSucceededAfterThrottle(o);
    expect((await loadConnection(orgId)).status).toBe('connected');
  });

  it('401 with the lower-case Fault: one refresh, one retry of the call, success in the same attempt', async () => {
    const { orgId, realmId } = await connectedOrg();
    const before = await loadConnection(orgId);
    const o = await syncUnder(orgId, realmId, { kind: 'unauthorized' });
    expect(o.run.state).toBe('succeeded');
    expect(o.run.counts.fetched).toBe(EMPLOYEES);
    expect(statuses(o.api)).toEqual([401, 200]);
    expect(statuses(o.token)).toEqual([200]);
    expect(o.run.attempts).toBe(1);
    expect(o.job.attemptsMade).toBe(1);
    expect(o.job.stacktrace ?? []).toEqual([]);
    const after = await loadConnection(orgId);
    expect(after.tokenVersion).toBe(before.tokenVersion + 1);
    expect(after.status).toBe('connected');
  });

  it('500 SystemFault twice: retried with backoff, then succeeds', async () => {
    const { orgId, realmId } = await connectedOrg();
    const o = await syncUnder(orgId, realmId, { kind: 'server-error', times: 2 });
    expect(o.run.state).toBe('succeeded');
    expect(o.run.counts.fetched).toBe(EMPLOYEES);
    expect(statuses(o.api)).toEqual([500, 500, 200]);
    expect(o.run.attempts).toBe(3);
    expect(await o.job.getState()).toBe('completed');
    // Two failed attempts (each recorded) and the successful third.
    expect(o.job.attemptsMade).toBe(3);
    expect(o.job.stacktrace).toHaveLength(2);
    expect(statuses(o.token)).toEqual([]);
  });

  it('a ValidationFault carried by a 200: the run fails with Intuit\'s code and the job is not retried', async () => {
    const { orgId, realmId } = await connectedOrg();
    const o = await syncUnder(orgId, realmId, { kind: 'fault-200' });
    expect(o.run.state).toBe('failed');
    expect(o.run.error.code).toBe('6000');
    expect(o.run.error.message).toMatch(/QBO rejected the request \(6000\)/);
    expect(await o.job.getState()).toBe('failed');
    expect(o.job.attemptsMade).toBe(1);
    expect(statuses(o.api)).toEqual([200]);
    // A permanent fault is about the request, not the connection.
    expect((await loadConnection(orgId)).status).toBe('connected');
  });

  it('a server that never answers: the attempt times out instead of hanging, the next one succeeds', async () => {
    const { orgId, realmId } = await connectedOrg();
    const o = await syncUnder(orgId, realmId, { kind: 'silent' });
    expect(o.run.state).toBe('succeeded');
    expect(o.run.counts.fetched).toBe(EMPLOYEES);
    // The silent request is never answered (status 0); the retry is.
    expect(statuses(o.api)).toEqual([0, 200]);
    expect(o.run.attempts).toBe(2);
    expect(o.job.attemptsMade).toBe(2);
    expect(o.job.stacktrace).toHaveLength(1);
    expect(o.job.stacktrace?.[0]).toMatch(/timeout/i);
  });

  it('a truncated body once: retried, then succeeds', async () => {
    const { orgId, realmId } = await connectedOrg();
    const o = await syncUnder(orgId, realmId, { kind: 'malformed' });
    expect(o.run.state).toBe('succeeded');
    expect(o.run.counts.fetched).toBe(EMPLOYEES);
    expect(statuses(o.api)).toEqual([200, 200]);
    expect(o.run.attempts).toBe(2);
    expect(o.job.attemptsMade).toBe(2);
    expect(o.job.stacktrace).toHaveLength(1);
    // Seen as a body problem, not as an unexplained library crash.
    expect(o.job.stacktrace?.[0]).toMatch(/^QboBodyError: QBO employee query answer has no readable QueryResponse/);
  });

  it('truncated bodies every time: each attempt is retried, and the last one fails the run with a clear reason', async () => {
    const { orgId, realmId } = await connectedOrg();
    app.sandbox.injectFault({ kind: 'malformed', endpoint: 'query', times: 20 });
    const from = app.sandbox.requests.length;
    // The real 8 attempts would take minutes of backoff; the same job with 3 attempts shows the
    // same path: retry, retry, then the run is failed on the last attempt.
    const run = await SyncRun.create({ orgId, trigger: 'manual', requestedMode: 'full', state: 'queued' });
    const runId = String(run._id);
    await app.rt.queues.sync.add('sync', { orgId, syncRunId: runId }, { ...SYNC_JOB_OPTIONS, attempts: 3, jobId: syncJobId(runId) });

    const done = await waitForRun(runId, 30_000, 50);
    const job = await settledJob(syncJobId(runId));
    expect(done?.state).toBe('failed');
    expect(done?.attempts).toBe(3);
    expect(done?.error.code).toBe('malformed_body');
    expect(done?.error.message).toMatch(/^QBO sent a body we could not read \(QBO employee query answer has no readable QueryResponse/);
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(3);
    // Every attempt failed the same, retryable, way: nothing short-circuited to a permanent failure.
    expect(job.stacktrace).toHaveLength(3);
    const api = app.sandbox.requests.slice(from).filter((r) => r.realmId === realmId);
    expect(statuses(api)).toEqual([200, 200, 200]);
  });
});
