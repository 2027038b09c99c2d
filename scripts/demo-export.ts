/**
 * The demo's timesheet part: members record time, an admin exports the week to QuickBooks, and
 * the gate lets through exactly the members linked to an active employee. Then a disconnected
 * member is connected again, and the entries held back for it go out on their own.
 */
import { printExport, printTimeEntries } from '../src/cli/print';
import { Member, type MemberDoc } from '../src/db/models';
import { requestLinkAction } from '../src/directory/link-requests';
import { membersTab } from '../src/directory/members-tab';
import type { Runtime } from '../src/runtime';
import { requestSync } from '../src/sync/request';
import { waitForRun } from '../src/sync/wait';
import { createTimeEntry, listTimeEntries } from '../src/timesheets/entries';
import { requestExport, waitForExport } from '../src/timesheets/request';
import type { QboSandbox } from '../sandbox/server';

const WEEK = { from: '2026-11-23', to: '2026-11-27' };

export async function demoExport(rt: Runtime, sandbox: QboSandbox, orgId: string, realmId: string, out: (s?: string) => void): Promise<boolean> {
  const byName = new Map((await Member.find({ orgId }).lean<MemberDoc[]>()).map((m) => [m.fullName.trim(), m]));
  // Who they are in the members tab: linked; linked then disconnected below; never linked
  // (a near miss nobody fixed); linked to an employee QBO made inactive; imported without e-mail.
  const cast = [
    ['Emily Platt', 'connected'],
    ['Daniel Park', 'disconnected by the admin'],
    ['Nguyen Anh', 'cannot connect'],
    ['Victor Huang', 'inactive in QBO'],
    ['Tomasz Nowak', 'imported, no e-mail'],
  ] as const;
  const linkOf63 = async () => {
    const row = (await membersTab(orgId)).rows.find((r) => r.qboId === '63');
    return row ? `${row.status}${row.member ? ` (member ${row.member.fullName})` : ''}` : 'not in the members tab';
  };
  const disconnected = await requestLinkAction(rt.queues, orgId, '63', 'disconnect', 60_000);
  if (!disconnected.done) return false;
  out(`\n10. The admin disconnects Daniel Park (QBO 63) through "member-links": ${await linkOf63()}`);
  // Automatic syncs never relink a link the admin cut.
  const sync = await requestSync({ redis: rt.redis, queues: rt.queues, keyPrefix: rt.config.QUEUE_PREFIX }, orgId, 'manual', 'full');
  const synced = await waitForRun(sync.syncRunId, 120_000);
  if (!synced) return false;
  out(`11. A full sync later (${synced.state}, ${synced.counts.fetched} fetched): Daniel Park is still ${await linkOf63()}`);
  for (const [name] of cast) {
    const m = byName.get(name);
    if (!m) continue;
    await createTimeEntry(orgId, { memberId: String(m._id), date: '2026-11-23', hours: 8, minutes: 0, description: `${name}: site maintenance` });
    await createTimeEntry(orgId, { memberId: String(m._id), date: '2026-11-24', start: '2026-11-24T07:30:00-08:00', end: '2026-11-24T16:15:00-08:00', description: `${name}: planting` });
  }
  out(`12. Time recorded for the week ${WEEK.from} → ${WEEK.to}: ${cast.map(([n, s]) => `${n} (${s})`).join(', ')}`);

  const req = await requestExport(rt.queues, orgId, WEEK);
  out(`13. Export of the week queued on "timesheet-export" as ${req.exportId}:`);
  const done = await waitForExport(req.exportId, 120_000);
  if (!done) return false;
  const names = new Map([...byName.values()].map((m) => [String(m._id), m.fullName.trim()]));
  // The export's own report, with each held-back entry named by its member.
  printExport((l) => out(`   ${l.replace(/^ {2}(blocked|failed) {1,2}([0-9a-f]{24})/, (_m, what: string, id: string) => `  ${what} ${id} (${names.get(String(done.blocked.find((b) => String(b.entryId) === id)?.memberId ?? '')) ?? '?'})`)}`), done);
  out(`   QuickBooks now holds ${sandbox.timeActivities(realmId).length} TimeActivities (sandbox), for employees ${[...new Set(sandbox.timeActivities(realmId).map((t) => t.EmployeeRef?.value))].join(', ')}`);

  const before = sandbox.timeActivities(realmId).length;
  await requestLinkAction(rt.queues, orgId, '63', 'connect', 60_000);
  const deadline = Date.now() + 30_000;
  while (sandbox.timeActivities(realmId).length < before + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  out(`14. Daniel Park connected again: his 2 held entries were released and exported on their own (${sandbox.timeActivities(realmId).length - before} new TimeActivities).`);
  printTimeEntries((l) => out(`   ${l}`), await listTimeEntries(orgId, WEEK));
  return done.state === 'succeeded';
}
