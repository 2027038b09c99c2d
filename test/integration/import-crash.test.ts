/**
 * A worker process SIGKILLed in the middle of an import with invitations, then a new one
 * started: the import finishes with every member, link, seat and e-mail exactly once. An
 * invitation whose SMTP conversation the kill cut short is recorded as `delivery_unknown`,
 * never sent a second time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Import, Invitation, Member, Organization, QboEmployee, type ImportDoc, type InvitationDoc, type MemberDoc, type QboEmployeeDoc } from '../../src/db/models';
import { startMailbox, type Mailbox } from '../../src/dev/mailbox';
import { listImportCandidates } from '../../src/imports/candidates';
import { requestImport } from '../../src/imports/request';
import { waitForImport } from '../../src/imports/wait';
import { baseDeps } from '../../src/runtime';
import { waitForRun } from '../../src/sync/wait';
import { generateCompany } from '../../sandbox/server';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApp, testEnvVars, type TestApp } from '../helpers/app';
import { killTree, startChild, tail, until, type Child } from '../helpers/processes';

const REALM = '4620816365000401';

describe('a worker killed mid-import', () => {
  let env: TestEnv;
  let app: TestApp;
  let slowMail: Mailbox;
  let vars: Record<string, string>;
  let logDir = '';
  const children: Child[] = [];

  beforeAll(async () => {
    env = await setupTestEnv('import-crash');
    app = await startTestApp(env, { workers: false });
    // A slow relay: each message is taken, then acknowledged 150 ms later, so a kill is likely
    // to land while the server already holds a message the worker has not heard back about.
    slowMail = await startMailbox({ delayMs: 150 });
    logDir = await mkdtemp(path.join(os.tmpdir(), 'import-crash-'));
    vars = testEnvVars(env, app.sandbox, {
      LOG_LEVEL: 'info',
      SMTP_URL: slowMail.url,
      SMTP_TIMEOUT_MS: '1000',
      INVITE_CONCURRENCY: '4',
      WORKER_LOCK_DURATION_MS: '3000',
      WORKER_STALLED_INTERVAL_MS: '1000',
    });
  });
  afterAll(async () => {
    for (const c of children) killTree(c, 'SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await slowMail?.close();
    await app?.close();
    await env?.close();
    if (logDir) await rm(logDir, { recursive: true, force: true });
  });

  it('ends with every member, link, seat and e-mail exactly once', async () => {
    app.sandbox.loadCompany(REALM, generateCompany(600, { seed: 11 }));
    const orgId = await app.createOrg([]);
    const first = startChild('first', vars, { logDir });
    children.push(first);
    const { firstRunId } = await app.connect(orgId, REALM, { wait: false });
    expect((await waitForRun(firstRunId, 60_000))?.state).toBe('succeeded');

    const chosen = (await listImportCandidates(orgId)).map((c) => c.qboId);
    expect(chosen.length).toBeGreaterThan(400);
    const req = await requestImport(baseDeps(app.rt), orgId, { employeeIds: chosen, sendInvites: true });

    // Killed once the import is running and invitations are going out.
    await until('invitations to start going out', async () => slowMail.messages.length >= 10, 60_000, () => tail(first));
    killTree(first, 'SIGKILL');
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    const atKill = (await Import.findById(req.importId).lean<ImportDoc>())!;
    const mailsAtKill = slowMail.messages.length;

    const second = startChild('second', vars, { logDir });
    children.push(second);
    const imp = await waitForImport(req.importId, 90_000);
    if (!imp) throw new Error(`import did not finish after the restart\n${tail(second)}`);
    expect(imp.state).toBe('succeeded');
    if (atKill.state === 'running') expect(imp.attempts).toBeGreaterThanOrEqual(2);

    const members = await Member.find({ orgId }).lean<MemberDoc[]>();
    const invited = members.filter((m) => m.email !== null);
    expect(members).toHaveLength(imp.counts.created);
    expect(new Set(members.map((m) => m.sourceEmployeeId)).size).toBe(members.length);
    const org = (await Organization.findById(orgId).lean())!;
    expect(org.seatsUsed).toBe(members.length);
    expect(org.seatHolds).toEqual([]);

    const linked = await QboEmployee.find({ orgId, 'link.matchedBy': 'import' }).lean<QboEmployeeDoc[]>();
    expect(linked).toHaveLength(members.length);
    expect(new Set(linked.map((e) => String(e.link.memberId))).size).toBe(members.length);
    const events = (await app.rt.queues.memberEvents.getJobs(['waiting', 'active', 'completed', 'delayed', 'failed'], 0, -1)).filter(
      (j) => j.name === 'member.link_changed' && (j.data as { cause: string }).cause === 'import',
    );
    expect(events).toHaveLength(members.length);

    // Every invitation ends with an outcome; no address ever gets two.
    await until('every invitation to be recorded', async () => (await Invitation.countDocuments({ orgId })) === invited.length, 60_000, () => tail(second));
    const counts = new Map<string, number>();
    for (const m of slowMail.messages) for (const to of m.to) counts.set(to, (counts.get(to) ?? 0) + 1);
    expect([...counts.entries()].filter(([, n]) => n > 1)).toEqual([]);
    const outcomes = await Invitation.find({ orgId }).lean<InvitationDoc[]>();
    const emailOf = new Map(members.map((m) => [String(m._id), m.email]));
    for (const o of outcomes.filter((x) => x.outcome === 'sent')) expect(counts.get(emailOf.get(String(o._id))!)).toBe(1);
    for (const o of outcomes.filter((x) => x.outcome === 'failed')) expect(o.reason).toMatch(/^delivery_unknown/);
    expect(slowMail.messages.length).toBeGreaterThan(mailsAtKill);
  }, 150_000);
});
