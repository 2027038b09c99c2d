/**
 * Bad input from every side: QBO answers we cannot read, employees with nothing to match on, a
 * realm QBO does not know, jobs with payloads no code would write, bad configuration values,
 * and operators mistyping CLI commands. Each ends in a clear, recorded outcome; none hangs,
 * crashes the worker or stops the rest of the work.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import type { Job, Queue } from 'bullmq';
import { Types } from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Member, Organization, QboConnection, QboEmployee, TimeEntry, type MemberDoc, type OrganizationDoc, type QboConnectionDoc, type QboEmployeeDoc } from '../../src/db/models';
import { membersTab } from '../../src/directory/members-tab';
import { showConnection } from '../../src/http/views';
import { disconnectQbo } from '../../src/qbo/disconnect';
import { requestSync } from '../../src/sync/request';
import { SyncError } from '../../src/sync/run-sync';
import { generateCompany, type RawEmployee } from '../../sandbox/server';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApp, type TestApp } from '../helpers/app';

const ROOT = path.resolve(import.meta.dirname, '../..');
// The tsx binary `npx tsx` resolves to, spawned directly (npm exec adds a second or more and
// nothing we test); each child in its own process group so afterAll can always kill the tree.
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const PAGE_SIZE = 500;

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const running = new Set<number>();

/** Runs `tsx <args>` with exactly `vars` as its environment (plus PATH/HOME); kills it after `timeoutMs`. */
function runTsx(args: string[], vars: Record<string, string>, timeoutMs = 30_000): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const proc = spawn(TSX, args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...vars },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = proc.pid;
    if (pid) running.add(pid);
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      if (pid) process.kill(-pid, 'SIGKILL');
      reject(new Error(`tsx ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (pid) running.delete(pid);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

async function until<T>(what: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until a job has finished (completed or failed) and returns it with its final state. */
async function settled(queue: Queue, jobId: string): Promise<{ job: Job; state: string }> {
  return until(`job ${jobId} to finish`, async () => {
    const job = await queue.getJob(jobId);
    const state = job ? await job.getState() : null;
    return job && (state === 'completed' || state === 'failed') ? { job, state } : null;
  });
}

describe('bad input', () => {
  let env: TestEnv;
  let app: TestApp;

  beforeAll(async () => {
    env = await setupTestEnv('bad-input');
    app = await startTestApp(env, { config: { QBO_PAGE_SIZE: String(PAGE_SIZE) } });
  });
  afterAll(async () => {
    for (const pid of running) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await app?.close();
    await env?.close();
  });

  describe('QBO answers', () => {
    it('a truncated (malformed) first page is retried and the sync finishes', async () => {
      const realm = '4620816365000301';
      app.sandbox.loadCompany(realm, generateCompany(1200, { seed: 3 }));
      app.sandbox.injectFault({ kind: 'malformed', endpoint: 'query', times: 1 });
      const orgId = await app.createOrg();
      app.sandbox.resetRequests();
      const { run } = await app.connect(orgId, realm);

      expect(run?.state).toBe('succeeded');
      expect(run?.attempts).toBe(2);
      expect(run?.counts).toMatchObject({ fetched: 1200, created: 1200, skipped: 0 });
      // The cut page once, then all three pages (500 + 500 + 200) on the retry.
      const queries = app.sandbox.requests.filter((r) => r.endpoint === 'query' && r.realmId === realm);
      expect(queries.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(await QboEmployee.countDocuments({ orgId })).toBe(1200);
    });

    it('a Fault inside an HTTP 200 fails the run at once with Intuit\'s code, not after eight attempts', async () => {
      const realm = '4620816365000302';
      app.sandbox.loadCompany(realm, generateCompany(10, { seed: 4 }));
      app.sandbox.injectFault({ kind: 'fault-200', endpoint: 'query', times: 1 });
      const orgId = await app.createOrg();
      const { run } = await app.connect(orgId, realm);

      expect(run?.state).toBe('failed');
      expect(run?.attempts).toBe(1);
      expect(run?.error.code).toBe('6000');
      expect(run?.error.message).toMatch(/QBO rejected the request \(6000.*\)/);
      // Nothing is wrong with the connection itself: the next sync is allowed and works.
      expect((await app.sync(orgId, 'full')).state).toBe('succeeded');
    });
  });

  describe('employees with nothing to match on', () => {
    it('are stored as cannot_connect / no_identity, shown in the members tab, and the rest syncs', async () => {
      const realm = '4620816365000303';
      const normal = generateCompany(30, { seed: 5, inactiveEvery: 0 }).employees;
      const odd: Partial<RawEmployee>[] = [
        { Id: '900', SyncToken: '0', DisplayName: '   ', Active: true },
        { Id: '901' }, // only an Id: the sandbox fills in what Intuit always sends
        { Id: '902', PrimaryEmailAddr: { Address: 'not an address' } },
        { Id: '903', GivenName: '\u200B', DisplayName: '\u200B\u200B' }, // zero-width spaces only
      ];
      app.sandbox.loadCompany(realm, { employees: [...normal, ...odd] });
      const member = normal[0]!;
      const orgId = await app.createOrg([{ fullName: `${member.GivenName} ${member.FamilyName}`, email: member.PrimaryEmailAddr?.Address ?? null }]);
      const { run } = await app.connect(orgId, realm);

      expect(run?.state).toBe('succeeded');
      expect(run?.counts).toMatchObject({ fetched: 34, created: 34, skipped: 0, candidates: 29 });
      const docs = await QboEmployee.find({ orgId }).lean<QboEmployeeDoc[]>();
      expect(docs).toHaveLength(34);
      for (const id of ['900', '901', '902', '903']) {
        const doc = docs.find((d) => d.qboId === id);
        expect(doc, id).toBeDefined();
        expect(doc?.link, id).toMatchObject({ status: 'cannot_connect', reason: 'no_identity', memberId: null });
        expect(doc?.active, id).toBe(true);
      }
      expect(docs.find((d) => d.qboId === '900')).toMatchObject({ displayName: null, givenName: null, email: null });
      expect(docs.find((d) => d.qboId === '902')?.email).toBe('not an address');
      expect(docs.find((d) => d.qboId === member.Id)?.link).toMatchObject({ status: 'connected' });

      // Not import candidates, so never reported as new members.
      const events = await app.rt.queues.memberEvents.getJobs(['waiting', 'delayed', 'prioritized', 'active', 'completed', 'failed'], 0, -1);
      const detected = events.filter((j) => j.name === 'member.new_detected' && j.data.orgId === orgId).map((j) => j.data.qboId);
      expect(detected).toHaveLength(29);
      expect(detected.filter((id) => ['900', '901', '902', '903'].includes(id))).toEqual([]);

      // Visible to the admin, with a placeholder name rather than an empty cell.
      const tab = await membersTab(orgId);
      const rows = tab.rows.filter((r) => ['900', '901', '902', '903'].includes(r.qboId));
      // 903's DisplayName is stored as QBO sent it (zero-width spaces) but must not be shown as
      // an invisible name.
      expect(rows.map((r) => [r.qboId, r.name, r.status, r.reason])).toEqual([
        ['900', '(no name)', 'cannot_connect', 'no_identity'],
        ['901', '(no name)', 'cannot_connect', 'no_identity'],
        ['902', '(no name)', 'cannot_connect', 'no_identity'],
        ['903', '(no name)', 'cannot_connect', 'no_identity'],
      ]);
    });
  });

  describe('a realm QBO does not know', () => {
    it('fails the first sync at once with a clear code and marks the connection for re-authorisation', async () => {
      const orgId = await app.createOrg();
      const { run } = await app.connect(orgId, '9999999999999999');

      expect(run?.state).toBe('failed');
      expect(run?.attempts).toBe(1);
      expect(run?.error.code).toBe('connection_needs_reauth');
      expect(run?.error.message).toMatch(/refused this app access to the company \(3100, HTTP 403\).*reconnect/);
      const conn = await QboConnection.findOne({ orgId }).lean<QboConnectionDoc>();
      expect(conn).toMatchObject({ status: 'needs_reauth', statusReason: '3100' });
      // Further syncs are refused up front instead of hammering Intuit.
      const refused = await requestSync({ redis: app.rt.redis, queues: app.rt.queues, keyPrefix: app.config.QUEUE_PREFIX }, orgId, 'manual', 'full').catch(
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(SyncError);
      expect((refused as SyncError).code).toBe('connection_needs_reauth');
    });
  });

  describe('callbacks that cannot be a connection', () => {
    it('a realm id that is not a QuickBooks company id, or one another org holds, is refused before any token is spent', async () => {
      const orgId = await app.createOrg();
      app.sandbox.resetRequests();
      await expect(app.connect(orgId, 'not-a-realm')).rejects.toMatchObject({ name: 'DomainError', code: 'invalid_callback' });
      expect(app.sandbox.count('token')).toBe(0);
      expect(await QboConnection.countDocuments({ orgId })).toBe(0);

      const realm = '4620816365000305';
      app.sandbox.loadCompany(realm, generateCompany(3, { seed: 7 }));
      const holder = await app.createOrg();
      expect((await app.connect(holder, realm)).run?.state).toBe('succeeded');
      app.sandbox.resetRequests();
      await expect(app.connect(orgId, realm)).rejects.toMatchObject({ code: 'realm_taken', message: expect.stringContaining(realm) });
      expect(app.sandbox.count('token')).toBe(0);
      expect(await QboConnection.countDocuments({ orgId })).toBe(0);
    });

    it('a company its organisation disconnected can be connected elsewhere; an org with employees keeps its company', async () => {
      const realm = '4620816365000306';
      app.sandbox.loadCompany(realm, generateCompany(3, { seed: 8 }));
      const first = await app.createOrg();
      expect((await app.connect(first, realm)).run?.state).toBe('succeeded');
      await disconnectQbo({ qbo: app.rt.qbo, queues: app.rt.queues, tokenKey: app.config.tokenKey, logger: app.rt.logger }, first);

      const second = await app.createOrg();
      expect((await app.connect(second, realm)).run?.state).toBe('succeeded');
      expect((await QboConnection.findOne({ realmId: realm }).lean<QboConnectionDoc>())?.orgId.toString()).toBe(second);
      // The first organisation keeps a record of its connection, its members and stored
      // employees, and cannot take the company back.
      const kept = await QboConnection.findOne({ orgId: new Types.ObjectId(first) }).lean<QboConnectionDoc>();
      expect(kept).toMatchObject({ status: 'disconnected', statusReason: 'company_connected_elsewhere' });
      expect(showConnection(kept!).realmId).toBe(realm);
      expect(await QboEmployee.countDocuments({ orgId: new Types.ObjectId(first) })).toBe(3);
      await expect(app.connect(first, realm)).rejects.toMatchObject({ code: 'realm_taken' });
      // Nor a different company: its ids would land on the first company's stored employees.
      const firstElsewhere = '4620816365000308';
      app.sandbox.loadCompany(firstElsewhere, generateCompany(2, { seed: 10 }));
      await expect(app.connect(first, firstElsewhere)).rejects.toMatchObject({ code: 'realm_changed', message: expect.stringContaining(realm) });
      expect(await QboEmployee.countDocuments({ orgId: new Types.ObjectId(first), deleted: false })).toBe(3);

      // The second one now holds that company's employees: another company would mix with them.
      const otherRealm = '4620816365000307';
      app.sandbox.loadCompany(otherRealm, generateCompany(2, { seed: 9 }));
      app.sandbox.resetRequests();
      await expect(app.connect(second, otherRealm)).rejects.toMatchObject({ code: 'realm_changed', message: expect.stringContaining(realm) });
      expect(app.sandbox.count('token')).toBe(0);
      expect((await QboConnection.findOne({ orgId: new Types.ObjectId(second) }).lean<QboConnectionDoc>())?.realmId).toBe(realm);
    });
  });

  describe('jobs no producer would write', () => {
    it('fail permanently with a clear message and the worker keeps working', async () => {
      const queue = app.rt.queues.sync as Queue;
      const opts = { attempts: 5, backoff: { type: 'fixed', delay: 100 } };
      await queue.add('sync', { orgId: 'nope' }, { ...opts, jobId: 'bad-sync-payload' });
      await queue.add('sync-tick', { orgId: 42 }, { ...opts, jobId: 'bad-tick-payload' });
      await queue.add('frobnicate', {}, { ...opts, jobId: 'unknown-job-name' });
      const orphanRun = new Types.ObjectId().toHexString();
      await queue.add('sync', { orgId: new Types.ObjectId().toHexString(), syncRunId: orphanRun }, { ...opts, jobId: 'missing-run' });

      const bad = await settled(queue, 'bad-sync-payload');
      expect(bad.state).toBe('failed');
      expect(bad.job.attemptsMade).toBe(1);
      expect(bad.job.failedReason).toMatch(/^Invalid job payload: /);
      expect(bad.job.failedReason).toContain('orgId must be a 24-hex object id');
      expect(bad.job.failedReason).toContain('syncRunId Required');

      const tick = await settled(queue, 'bad-tick-payload');
      expect(tick).toMatchObject({ state: 'failed', job: { attemptsMade: 1 } });
      expect(tick.job.failedReason).toMatch(/^Invalid job payload: orgId /);

      const unknown = await settled(queue, 'unknown-job-name');
      expect(unknown).toMatchObject({ state: 'failed', job: { attemptsMade: 1 } });
      expect(unknown.job.failedReason).toBe('Unknown job frobnicate on the sync queue');

      const missing = await settled(queue, 'missing-run');
      expect(missing).toMatchObject({ state: 'failed', job: { attemptsMade: 1 } });
      expect(missing.job.failedReason).toContain(`Sync run ${orphanRun} does not exist`);

      // The same worker still runs real syncs.
      const realm = '4620816365000304';
      app.sandbox.loadCompany(realm, generateCompany(5, { seed: 6 }));
      const orgId = await app.createOrg();
      const { run } = await app.connect(orgId, realm);
      expect(run?.state).toBe('succeeded');
      expect(app.workers?.workers.every((w) => w.isRunning())).toBe(true);
    });
  });

  describe('configuration', () => {
    it('a worker started with bad values exits 2 and names every bad variable', async () => {
      const res = await runTsx(['workers/main.ts'], { QBO_PAGE_SIZE: '5000', TOKEN_ENCRYPTION_KEY: 'short', LOG_LEVEL: 'info' });
      expect(res.code).toBe(2);
      expect(res.stderr).toContain('Invalid configuration');
      expect(res.stderr).toMatch(/QBO_PAGE_SIZE [^;]*1000/);
      expect(res.stderr).toMatch(/TOKEN_ENCRYPTION_KEY must be 32 bytes/);
      expect(res.stderr).not.toContain('short');
      expect(res.stdout).toBe('');
    });
  });

  describe('CLI', () => {
    const cli = (args: string[]) => runTsx(['src/cli/main.ts', ...args], { ...app.env, LOG_LEVEL: 'warn' });

    it('members --org with something that is not an organisation id: exit 1 and a clear reason', async () => {
      const res = await cli(['members', '--org', 'nope']);
      expect(res.code).toBe(1);
      expect(res.stderr.trim()).toBe('Refused (invalid_org_id): "nope" is not an organisation id');
      const missing = new Types.ObjectId().toHexString();
      const res2 = await cli(['members', '--org', missing]);
      expect(res2.code).toBe(1);
      expect(res2.stderr.trim()).toBe(`Refused (org_not_found): Organisation ${missing} does not exist`);
    });

    it('an unknown command or option prints the usage and exits 2', async () => {
      // No environment at all: a typo is answered before config or connections are needed.
      const res = await runTsx(['src/cli/main.ts', 'frobnicate'], {});
      expect(res.code).toBe(2);
      expect(res.stderr).toContain('Unknown command "frobnicate"');
      expect(res.stderr).toContain('Usage: npm run cli -- <command> [options]');
      expect(res.stderr).not.toContain('Invalid configuration');
      const opt = await cli(['members', '--org', 'x', '--frob']);
      expect(opt.code).toBe(2);
      expect(opt.stderr).toContain("Unknown option '--frob'");
      expect(opt.stderr).toContain('Usage:');
      const none = await cli(['members']);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('--org is required');
    });

    it('org create refuses seats the API refuses (negative, over 1,000,000), written either way, and creates nothing', async () => {
      const name = `Seats ${Math.random().toString(36).slice(2, 8)}`;
      const message = 'Refused (invalid_seat_limit): The seat limit must be a whole number from 0 to 1000000';
      for (const args of [['--seats=-3'], ['--seats', '-3'], ['--plan', 'paid', '--seats', '-3'], ['--plan', 'paid', '--seats', '99999999999999999999'], ['--plan', 'paid', '--seats=1000001']]) {
        const res = await cli(['org', 'create', '--name', name, ...args]);
        expect(res.code, args.join(' ')).toBe(1);
        expect(res.stderr.trim(), args.join(' ')).toBe(message);
        expect(res.stdout).toBe('');
      }
      // Only decimal digits are a number here: not an empty value, hex or an exponent.
      for (const seats of ['', '0x10', '1e3', '2.5', 'ten']) {
        const res = await cli(['org', 'create', '--name', name, '--plan', 'paid', `--seats=${seats}`]);
        expect(res.code, seats).not.toBe(0);
        expect(res.stderr, seats).toContain('--seats must be a whole number');
      }
      expect(await Organization.countDocuments({ name })).toBe(0);
      const ok = await cli(['org', 'create', '--name', name, '--plan', 'paid', '--seats', '1000000']);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('paid plan');
      expect(await Organization.findOne({ name }).lean<OrganizationDoc>()).toMatchObject({ plan: 'paid', seatLimit: 1_000_000 });
    });

    it('time add refuses a duration together with a start and end, and a negative one written with a space', async () => {
      const orgId = await app.createOrg([{ fullName: 'Time Keeper' }]);
      const member = await Member.findOne({ orgId }).lean<MemberDoc>();
      const both = await cli(['time', 'add', '--org', orgId, '--member', String(member?._id), '--date', '2026-11-24', '--hours', '1', '--start', '2026-11-24T08:00:00-08:00', '--end', '2026-11-24T09:00:00-08:00']);
      expect(both.code).toBe(1);
      expect(both.stderr.trim()).toBe('Refused (invalid_duration): Give either hours and minutes, or start and end, not both');
      expect(await TimeEntry.countDocuments({ orgId })).toBe(0);
      const negative = await cli(['time', 'add', '--org', orgId, '--member', String(member?._id), '--date', '2026-11-24', '--hours', '-1']);
      expect(negative.code).toBe(1);
      expect(negative.stderr.trim()).toBe('Refused (invalid_duration): hours must be a whole number from 0 to 24');
    });

    it('time list refuses a reversed period like export does', async () => {
      const orgId = await app.createOrg();
      const reversed = await cli(['time', 'list', '--org', orgId, '--from', '2026-11-27', '--to', '2026-11-23']);
      expect(reversed.code).toBe(1);
      expect(reversed.stderr.trim()).toBe('Refused (invalid_period): The period is reversed: from 2026-11-27 is after to 2026-11-23');
      expect(reversed.stdout).toBe('');
    });

    it('sync that times out says the state the run is in', async () => {
      const realm = '4620816365000308';
      app.sandbox.loadCompany(realm, generateCompany(3, { seed: 10 }));
      const orgId = await app.createOrg();
      expect((await app.connect(orgId, realm)).run?.state).toBe('succeeded');
      // The full listing answers after 2.5 s (within QBO_HTTP_TIMEOUT_MS): the run is running when the CLI gives up.
      app.sandbox.injectFault({ kind: 'slow', endpoint: 'query', delayMs: 2500, times: 1, realmId: realm });
      const res = await cli(['sync', '--org', orgId, '--full', '--timeout', '1']);
      expect(res.code).toBe(1);
      expect(res.stdout).toContain('The sync did not finish within 1 s; it is still running');
      expect(res.stdout).not.toContain('queued (check');
    });
  });
});
