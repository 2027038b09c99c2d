/**
 * A worker process SIGKILLed in the middle of exporting 500 entries, then a new one started:
 * every entry reaches QuickBooks exactly once (the sandbox counts TimeActivities per
 * requestid, and every entry's description is its own).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Types } from 'mongoose';
import { exportJobId } from '../../queues/timesheet-export';
import { EntryExport, Member, TimesheetExport, type MemberDoc } from '../../src/db/models';
import { createTimeEntry } from '../../src/timesheets/entries';
import { requestExport, waitForExport } from '../../src/timesheets/request';
import { waitForRun } from '../../src/sync/wait';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApp, testEnvVars, type TestApp } from '../helpers/app';
import { killTree, startChild, tail, until, type Child } from '../helpers/processes';

const REALM = '4620816365000801';
const MEMBERS = 10;
const PER_MEMBER = 50;

describe('a worker killed mid-export', () => {
  let env: TestEnv;
  let app: TestApp;
  let vars: Record<string, string>;
  let logDir = '';
  const children: Child[] = [];
  let orgId = '';

  beforeAll(async () => {
    env = await setupTestEnv('export-crash');
    app = await startTestApp(env, { workers: false });
    logDir = await mkdtemp(path.join(os.tmpdir(), 'export-crash-'));
    vars = testEnvVars(env, app.sandbox, { LOG_LEVEL: 'info', WORKER_LOCK_DURATION_MS: '3000', WORKER_STALLED_INTERVAL_MS: '1000' });
  });
  afterAll(async () => {
    for (const c of children) killTree(c, 'SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await app?.close();
    await env?.close();
    if (logDir) await rm(logDir, { recursive: true, force: true });
  });

  it('exports every entry exactly once', async () => {
    app.sandbox.loadCompany(REALM, {
      employees: Array.from({ length: MEMBERS }, (_, i) => ({ Id: String(i + 1), SyncToken: '0', GivenName: 'Crew', FamilyName: `Member${i + 1}`, DisplayName: `Crew Member${i + 1}`, Active: true })),
    });
    orgId = await app.createOrg(Array.from({ length: MEMBERS }, (_, i) => ({ fullName: `Crew Member${i + 1}` })));
    const first = startChild('first', vars, { logDir });
    children.push(first);
    const { firstRunId } = await app.connect(orgId, REALM, { wait: false });
    expect((await waitForRun(firstRunId, 60_000))?.state).toBe('succeeded');
    const descriptions: string[] = [];
    for (const m of await Member.find({ orgId }).lean<MemberDoc[]>()) {
      for (let d = 0; d < PER_MEMBER; d++) {
        const description = `crash-${String(m._id)}-${d}`;
        descriptions.push(description);
        await createTimeEntry(orgId, { memberId: String(m._id), date: `2026-09-${String(1 + (d % 30)).padStart(2, '0')}`, hours: 2, minutes: 0, description });
      }
    }
    // Slow answers, so the export is still going when its worker dies.
    app.sandbox.injectFault({ kind: 'slow', endpoint: 'batch', delayMs: 400, times: 100_000 });
    app.sandbox.injectFault({ kind: 'slow', endpoint: 'timeactivity', delayMs: 150, times: 100_000 });
    const req = await requestExport(app.rt.queues, orgId, { from: '2026-09-01', to: '2026-09-30' });
    await until('a fifth of the entries to reach QBO', async () => app.sandbox.timeActivities(REALM).length >= 100, 60_000, () => tail(first));
    killTree(first, 'SIGKILL');
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
    const atKill = app.sandbox.timeActivities(REALM).length;
    expect(atKill).toBeLessThan(MEMBERS * PER_MEMBER);

    const second = startChild('second', vars, { logDir });
    children.push(second);
    const done = await waitForExport(req.exportId, 120_000);
    if (!done) throw new Error(`export did not finish after the restart\n${tail(second)}`);
    expect(done.state).toBe('succeeded');
    expect(done.counts).toMatchObject({ total: 500, exported: 500, failed: 0, blocked: 0 });

    const sent = app.sandbox.timeActivities(REALM);
    expect(sent).toHaveLength(500);
    const perDescription = new Map<string, number>();
    for (const t of sent) perDescription.set(String(t.Description), (perDescription.get(String(t.Description)) ?? 0) + 1);
    expect([...perDescription.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(perDescription.keys())).toEqual(new Set(descriptions));
    // No requestid created more than it carried: singles once, batches once per item.
    const byRequest = app.sandbox.timeActivityCountByRequestId(REALM);
    for (const [rid, n] of byRequest) expect(n, rid).toBeLessThanOrEqual(rid.startsWith('te-') ? 1 : 30);
    expect(await EntryExport.countDocuments({ orgId })).toBe(500);
  }, 180_000);

  it('an export stored but never queued (its job lost) is queued again when a worker starts', async () => {
    for (const c of children) killTree(c, 'SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    app.sandbox.clearFaults();
    const member = (await Member.findOne({ orgId }).lean<MemberDoc>())!;
    await createTimeEntry(orgId, { memberId: String(member._id), date: '2026-10-05', hours: 3, minutes: 0, description: 'lost-job entry' });
    // What a producer that died between storing and queueing (or a Redis that lost its data) leaves.
    const lost = await TimesheetExport.create({ orgId: new Types.ObjectId(orgId), requestedBy: 'admin', from: '2026-10-01', to: '2026-10-31', state: 'queued' });
    expect(await app.rt.queues.timesheetExport.getJob(exportJobId(String(lost._id)))).toBeUndefined();

    const third = startChild('third', vars, { logDir });
    children.push(third);
    const done = await waitForExport(String(lost._id), 60_000);
    if (!done) throw new Error(`the lost export was not picked up\n${tail(third)}`);
    expect(done).toMatchObject({ state: 'succeeded', counts: { total: 1, exported: 1 } });
    expect(app.sandbox.timeActivities(REALM).filter((t) => t.Description === 'lost-job entry')).toHaveLength(1);
  }, 90_000);
});
