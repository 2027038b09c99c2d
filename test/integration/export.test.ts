/**
 * Timesheet export against real Redis, FerretDB and the QBO sandbox over HTTP: exactly the
 * entries of members linked to an active employee go; the others are held back with the
 * reason, and released (exported once) when the member is linked again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Member, QboConnection, TimesheetExport, type MemberDoc } from '../../src/db/models';
import { requestLinkAction } from '../../src/directory/link-requests';
import { addMember } from '../../src/directory/members';
import { DomainError } from '../../src/errors';
import { requestImport } from '../../src/imports/request';
import { waitForImport } from '../../src/imports/wait';
import { metricsKey } from '../../src/metrics';
import { baseDeps } from '../../src/runtime';
import { createTimeEntry, listTimeEntries, updateTimeEntry } from '../../src/timesheets/entries';
import { requestExport, waitForExport } from '../../src/timesheets/request';
import { employee } from '../helpers/factories';
import { setupTestEnv, type TestEnv } from '../helpers/env';
import { startTestApp, type TestApp } from '../helpers/app';
import { until } from '../helpers/processes';

const emp = employee;

const REALM = '4620816365000601';
const COMPANY = {
  employees: [
    emp('1', 'Emily', 'Platt', 'emily@example.com'), // connected
    emp('2', 'Pat', 'Quinn', 'pat@example.com'), // connected, then disconnected by an admin
    emp('4', 'Victor', 'Huang', 'victor@example.com'), // connected, then inactive in QBO
    emp('5', 'Tomasz', 'Nowak'), // imported: a member without e-mail, connected
    emp('6', 'Lena', 'Fischer', 'lena@example.com'), // connected; QBO deactivates her without a sync
  ],
};

describe('timesheet export', () => {
  let env: TestEnv;
  let app: TestApp;
  let orgId: string;
  const member: Record<string, string> = {};
  const id = (who: string) => member[who] as string;
  const tas = () => app.sandbox.timeActivities(REALM);
  const entry = (who: string, date: string, extra: Record<string, unknown> = {}) =>
    createTimeEntry(orgId, { memberId: member[who], date, hours: 7, minutes: 30, description: `${who} ${date} ${Math.random().toString(36).slice(2, 8)}`, ...extra });
  async function exportAndWait(from: string, to: string) {
    const req = await requestExport(app.rt.queues, orgId, { from, to });
    const done = await waitForExport(req.exportId, 60_000);
    if (!done) throw new Error('export did not finish');
    return done;
  }

  beforeAll(async () => {
    env = await setupTestEnv('export');
    // Stored Active flags from the last sync are trusted for an hour: Lena's deactivation below
    // reaches QBO only, so the create is what finds out.
    app = await startTestApp(env, { config: { EXPORT_ACTIVE_FRESH_MS: String(3600_000) } });
    app.sandbox.loadCompany(REALM, COMPANY);
    orgId = await app.createOrg([
      { fullName: 'Emily Platt', email: 'emily@example.com' },
      { fullName: 'Pat Quinn', email: 'pat@example.com' },
      { fullName: 'Casey Unmatched', email: 'casey@example.com' }, // no employee: cannot connect
      { fullName: 'Victor Huang', email: 'victor@example.com' },
      { fullName: 'Lena Fischer', email: 'lena@example.com' },
    ]);
    expect((await app.connect(orgId, REALM)).run?.state).toBe('succeeded');
    const imp = await requestImport(baseDeps(app.rt), orgId, { employeeIds: ['5'], sendInvites: false });
    expect((await waitForImport(imp.importId, 30_000))?.state).toBe('succeeded');
    for (const m of await Member.find({ orgId }).lean<MemberDoc[]>()) member[m.fullName.split(' ')[0] as string] = String(m._id);
    expect((await requestLinkAction(app.rt.queues, orgId, '2', 'disconnect')).done).toBe(true);
    app.sandbox.deactivateEmployee(REALM, '4');
    expect((await app.sync(orgId, 'incremental')).state).toBe('succeeded');
    app.sandbox.deactivateEmployee(REALM, '6');
  });
  afterAll(async () => {
    await app?.close();
    await env?.close();
  });

  it('exports exactly the connected, active members; blocks or fails the rest with the reason', async () => {
    for (const who of ['Emily', 'Pat', 'Casey', 'Victor', 'Tomasz', 'Lena']) {
      await entry(who, '2026-11-02');
      await entry(who, '2026-11-03');
    }
    await entry('Emily', '2026-11-09'); // outside the period
    const spanEntry = await entry('Emily', '2026-11-04', { hours: undefined, minutes: undefined, start: '2026-11-04T08:00:00-08:00', end: '2026-11-04T17:00:00-08:00' });

    const done = await exportAndWait('2026-11-02', '2026-11-06');
    expect(done.state).toBe('succeeded');
    expect(done.counts).toMatchObject({ total: 13, exported: 5, blocked: 6, failed: 2, alreadyExported: 0 });
    const reasons = new Map(done.blocked.map((b) => [String(b.memberId), b.reason]));
    expect(reasons.get(id('Pat'))).toBe('member_disconnected');
    expect(reasons.get(id('Casey'))).toBe('member_not_linked');
    expect(reasons.get(id('Victor'))).toBe('qbo_employee_inactive');
    expect(done.failed.every((f) => String(f.memberId) === member.Lena && f.code === '610')).toBe(true);
    expect(done.failed[0]?.message).toMatch(/inactive/i);

    // What QBO holds: one TimeActivity per exported entry, for the right employee.
    const sent = tas();
    expect(sent).toHaveLength(5);
    expect(sent.map((t) => t.EmployeeRef?.value).sort()).toEqual(['1', '1', '1', '5', '5']);
    const span = sent.find((t) => t.StartTime);
    expect(span).toMatchObject({ TxnDate: '2026-11-04', StartTime: '2026-11-04T08:00:00-08:00', EndTime: '2026-11-04T17:00:00-08:00' });
    const byDesc = sent.find((t) => t.Hours === 7);
    expect(byDesc).toMatchObject({ NameOf: 'Employee', Hours: 7, Minutes: 30, BillableStatus: 'NotBillable' });

    const states = new Map((await listTimeEntries(orgId, { from: '2026-11-02', to: '2026-11-06' })).map((e) => [String(e._id), e]));
    expect(states.get(String(spanEntry._id))).toMatchObject({ state: 'exported' });
    expect([...states.values()].filter((e) => e.state === 'blocked').map((e) => e.reason).sort()).toEqual([
      'member_disconnected',
      'member_disconnected',
      'member_not_linked',
      'member_not_linked',
      'qbo_employee_inactive',
      'qbo_employee_inactive',
    ]);
    expect([...states.values()].filter((e) => e.state === 'failed')).toHaveLength(2);

    // Counted for /metrics, across processes, in Redis.
    await app.rt.metrics.flush();
    const counted = await app.rt.redis.hgetall(metricsKey(app.config.QUEUE_PREFIX, 'export_entries_total'));
    expect(counted).toMatchObject({ '["exported",""]': '5', '["blocked","member_disconnected"]': '2', '["blocked","member_not_linked"]': '2', '["failed","610"]': '2' });
  });

  it('a second export of the period sends nothing twice, and reports an entry edited since', async () => {
    const before = tas().length;
    const exported = (await listTimeEntries(orgId, { from: '2026-11-02', to: '2026-11-06' })).find((e) => e.state === 'exported')!;
    await updateTimeEntry(orgId, String(exported._id), { date: exported.date, hours: 3, minutes: 0, description: 'corrected' });
    const again = await exportAndWait('2026-11-02', '2026-11-06');
    expect(again.counts).toMatchObject({ exported: 0, alreadyExported: 5, editedAfterExport: 1 });
    expect(again.alreadyExported.filter((a) => a.edited).map((a) => String(a.entryId))).toEqual([String(exported._id)]);
    expect(tas()).toHaveLength(before);
    const counts = [...app.sandbox.timeActivityCountByRequestId(REALM).values()];
    expect(counts.reduce((a, b) => a + b, 0)).toBe(before);
  });

  it('reconnecting a member releases and exports its held entries once', async () => {
    const before = tas().length;
    expect(await requestLinkAction(app.rt.queues, orgId, '2', 'connect')).toMatchObject({ done: true, result: { status: 'connected' } });
    await until('Pat\'s two entries to reach QBO', async () => tas().filter((t) => t.EmployeeRef?.value === '2').length >= 2, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(tas().filter((t) => t.EmployeeRef?.value === '2')).toHaveLength(2);
    expect(tas()).toHaveLength(before + 2);
    const pat = (await listTimeEntries(orgId, { memberId: member.Pat })).map((e) => e.state);
    expect(pat).toEqual(['exported', 'exported']);
    // Cut and restored again: nothing left to release, nothing sent twice.
    await requestLinkAction(app.rt.queues, orgId, '2', 'disconnect');
    await requestLinkAction(app.rt.queues, orgId, '2', 'connect');
    await new Promise((r) => setTimeout(r, 1500));
    expect(tas()).toHaveLength(before + 2);
  });

  it('an employee active again in QBO: the next sync releases the held entries, once', async () => {
    const before = tas().length;
    const victorEntries = (await listTimeEntries(orgId, { memberId: member.Victor })).map((e) => e._id);
    app.sandbox.updateEmployee(REALM, '4', { Active: true });
    expect((await app.sync(orgId, 'incremental')).state).toBe('succeeded');
    await until('Victor\'s two entries to reach QBO', async () => tas().filter((t) => t.EmployeeRef?.value === '4').length >= 2, 30_000);
    // The ledger is written just after QuickBooks answers: wait for the export to finish.
    await until('the release to finish', async () => TimesheetExport.exists({ orgId, requestedBy: 'release', state: 'succeeded', entryIds: { $in: victorEntries } }), 30_000);
    expect((await listTimeEntries(orgId, { memberId: member.Victor })).map((e) => e.state)).toEqual(['exported', 'exported']);
    // Another sync that changes an employee finds nothing left to release.
    app.sandbox.updateEmployee(REALM, '1', { GivenName: 'Emily' });
    expect((await app.sync(orgId, 'incremental')).state).toBe('succeeded');
    await new Promise((r) => setTimeout(r, 1500));
    expect(tas().filter((t) => t.EmployeeRef?.value === '4')).toHaveLength(2);
    expect(tas()).toHaveLength(before + 2);
  });

  it('refuses bad input and sends nothing', async () => {
    const before = tas().length;
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(DomainError);
      return (err as DomainError).code;
    };
    expect(await refusal(requestExport(app.rt.queues, orgId, { from: '2026-12-01', to: '2026-12-31' }))).toBe('no_time_entries');
    expect(await refusal(requestExport(app.rt.queues, orgId, { from: '2026-11-06', to: '2026-11-02' }))).toBe('invalid_period');
    expect(await refusal(requestExport(app.rt.queues, orgId, { from: '2026-02-30', to: '2026-03-02' }))).toBe('invalid_date');
    expect(await refusal(requestExport(app.rt.queues, orgId, { from: 'yesterday', to: '2026-03-02' }))).toBe('invalid_date');
    for (const [input, code] of [
      [{ hours: -1, minutes: 0 }, 'invalid_duration'],
      [{ hours: 25, minutes: 0 }, 'invalid_duration'],
      [{ hours: 24, minutes: 30 }, 'invalid_duration'],
      [{ hours: 0, minutes: 0 }, 'invalid_duration'],
      [{ start: '2026-11-02T17:00:00-08:00', end: '2026-11-02T08:00:00-08:00' }, 'invalid_duration'],
      [{ start: '2026-11-02T08:00:00-08:00', end: '2026-11-03T09:00:00-08:00' }, 'invalid_duration'],
      [{ start: '2026-11-02T08:00', end: '2026-11-02T09:00' }, 'invalid_time'],
      [{ hours: 2, date: '2026-13-01' }, 'invalid_date'],
      [{ hours: 2, billable: { customerId: '7' } }, 'invalid_billable'],
    ] as const) {
      expect(await refusal(createTimeEntry(orgId, { memberId: member.Emily, date: '2026-11-02', ...input }))).toBe(code);
    }
    // A member of another organisation is not this organisation's to record time for.
    const other = await app.createOrg([{ fullName: 'Someone Else' }]);
    const stranger = (await Member.findOne({ orgId: other }).lean<MemberDoc>())!;
    expect(await refusal(createTimeEntry(orgId, { memberId: String(stranger._id), date: '2026-11-02', hours: 1 }))).toBe('member_not_found');
    expect(await refusal(requestExport(app.rt.queues, other, { from: '2026-11-02', to: '2026-11-06' }))).toBe('qbo_not_connected');
    // An organisation whose connection must be authorised again: a clear no, nothing sent.
    await QboConnection.updateOne({ orgId }, { $set: { status: 'needs_reauth' } });
    try {
      expect(await refusal(requestExport(app.rt.queues, orgId, { from: '2026-11-02', to: '2026-11-06' }))).toBe('connection_needs_reauth');
      const listed = await listTimeEntries(orgId, { from: '2026-11-02', to: '2026-11-03' });
      expect(listed.filter((e) => e.state === 'blocked').every((e) => e.reason === 'connection_needs_reauth')).toBe(true);
    } finally {
      await QboConnection.updateOne({ orgId }, { $set: { status: 'connected' } });
    }
    expect(tas()).toHaveLength(before);
  });

  it('blocks everything with connection_needs_reauth when the connection is lost after the request', async () => {
    await addMember(baseDeps(app.rt), orgId, { fullName: 'Late Member' });
    const before = tas().length;
    const req = await requestExport(app.rt.queues, orgId, { from: '2026-11-02', to: '2026-11-03' });
    await QboConnection.updateOne({ orgId }, { $set: { status: 'needs_reauth' } });
    try {
      const done = await waitForExport(req.exportId, 30_000);
      expect(done?.state).toBe('succeeded');
      expect(done?.counts.exported).toBe(0);
      expect(done?.blocked.length).toBeGreaterThan(0);
      expect(new Set(done?.blocked.map((b) => b.reason))).toEqual(new Set(['connection_needs_reauth']));
      expect(tas()).toHaveLength(before);
    } finally {
      await QboConnection.updateOne({ orgId }, { $set: { status: 'connected' } });
    }
  });
});
