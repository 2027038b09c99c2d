import { ENTRY_STATES, type ImportDoc, type MemberDoc, type SyncRunDoc, type TimesheetExportDoc } from '../db/models';
import type { LinkActionResult } from '../directory/links';
import type { CandidateRow } from '../imports/candidates';
import type { EntryView } from '../timesheets/entries';
import type { MembersTab } from '../directory/members-tab';

type Out = (line: string) => void;

const STATUS_LABEL: Record<string, string> = {
  connected: 'Connected',
  disconnected: 'Disconnected',
  cannot_connect: 'Cannot connect',
};

function pad(raw: string, n: number): string {
  const s = raw.normalize('NFC');
  return s.length > n ? `${s.slice(0, n - 1)}…` : s.padEnd(n);
}

export function printMembersTab(out: Out, tab: MembersTab): void {
  out(`${pad('QBO id', 7)} ${pad('Employee (as in QuickBooks)', 30)} ${pad('Status', 15)} ${pad('Reason / match', 17)} ${pad('Member', 24)} Note`);
  for (const r of tab.rows) {
    const notes: string[] = [];
    if (!r.active) notes.push('inactive in QBO');
    if (r.deleted) notes.push('deleted in QBO');
    if (!r.email) notes.push('no e-mail');
    if (r.hint) notes.push(`nearly matches ${r.hint.fullName ?? r.hint.memberId} (${r.hint.kind ?? 'near miss'})`);
    out(
      `${pad(r.qboId, 7)} ${pad(r.name, 30)} ${pad(STATUS_LABEL[r.status] ?? r.status, 15)} ${pad(r.reason ?? (r.matchedBy ? `by ${r.matchedBy}` : ''), 17)} ${pad(r.member?.fullName ?? '', 24)} ${notes.join('; ')}`,
    );
  }
  const by = (s: string) => tab.rows.filter((r) => r.status === s).length;
  out(`\n${tab.rows.length} employees: ${by('connected')} connected, ${by('cannot_connect')} cannot connect, ${by('disconnected')} disconnected`);
  if (tab.lastSync) out(`Last sync: ${tab.lastSync.state}${tab.lastSync.message ? ` — ${tab.lastSync.message}` : ''}`);
}

export function printSyncRun(out: Out, run: SyncRunDoc): void {
  if (run.state === 'failed') {
    out(`Sync failed (${run.error.code ?? 'unknown'}): ${run.error.message ?? ''}`);
    return;
  }
  const c = run.counts;
  out(
    `Sync ${run.state} (${run.mode ?? run.requestedMode}): ${c.fetched} fetched, ${c.created} new, ${c.updated} updated, ${c.unchanged} unchanged, ${c.deleted} deleted, ${c.skipped} unreadable; ${c.qboRequests} QuickBooks ${c.qboRequests === 1 ? 'request' : 'requests'}`,
  );
  if (run.problems.length > 0) out(`Unreadable rows: ${run.problems.map((p) => `${p.qboId}: ${p.problem}`).join('; ')}`);
  out(run.message ?? '');
}

export function printDirectory(out: Out, members: MemberDoc[]): void {
  out(`${pad('Member', 28)} ${pad('E-mail', 30)} ${pad('Login', 6)} ${pad('Invitation', 11)} Origin`);
  for (const m of members) {
    const inv = m.invitation?.state ?? 'none';
    out(`${pad(m.fullName, 28)} ${pad(m.email ?? '—', 30)} ${pad(m.loginAccess ? 'yes' : 'no', 6)} ${pad(inv, 11)} ${m.origin}${m.invitation?.reason ? ` (${m.invitation.reason})` : ''}`);
  }
  out(`\n${members.length} members, ${members.filter((m) => m.loginAccess).length} with login access`);
}

export function printCandidates(out: Out, rows: CandidateRow[]): void {
  if (rows.length === 0) {
    out('No employees to import: every QuickBooks employee matches a member (or cannot be imported).');
    return;
  }
  out(`${pad('QBO id', 7)} ${pad('Employee (as in QuickBooks)', 30)} ${pad('E-mail', 30)} Note`);
  for (const r of rows) {
    const notes: string[] = [];
    if (!r.active) notes.push('inactive in QBO');
    if (!r.email) notes.push('no e-mail: added without login access');
    if (r.hint) notes.push(`nearly matches ${r.hint.fullName ?? r.hint.memberId} (${r.hint.kind ?? 'near miss'})`);
    out(`${pad(r.qboId, 7)} ${pad(r.name, 30)} ${pad(r.email ?? '—', 30)} ${notes.join('; ')}`);
  }
  out(`\n${rows.length} employees can be imported: npm run cli -- import --org <orgId> ${rows.slice(0, 3).map((r) => r.qboId).join(' ')}${rows.length > 3 ? ' …' : ''} [--invite]`);
}

export function printImport(out: Out, imp: ImportDoc): void {
  if (imp.state === 'refused') {
    out(`Import refused (${imp.error.code ?? 'refused'}): ${imp.error.message ?? ''}`);
    return;
  }
  if (imp.state === 'failed') {
    out(`Import failed (${imp.error.code ?? 'unknown'}): ${imp.error.message ?? ''}`);
    return;
  }
  const c = imp.counts;
  out(`Import ${imp.state}: ${c.created} members created, ${c.skipped} skipped, ${c.invited} invitations queued`);
  for (const it of imp.items ?? []) {
    out(`  ${pad(it.qboId, 7)} ${it.outcome === 'created' ? `created ${it.fullName ?? ''}${it.email ? '' : ' (no e-mail: no login access)'}${it.invite ? ', invited' : ''}` : `skipped: ${it.reason ?? ''}`}`);
  }
}

export function printLinkResult(out: Out, action: 'connect' | 'disconnect', r: LinkActionResult): void {
  const state = `${STATUS_LABEL[r.status] ?? r.status}${r.reason ? ` (${r.reason})` : r.matchedBy ? ` (by ${r.matchedBy})` : ''}`;
  out(`${action === 'connect' ? 'Connect' : 'Disconnect'} employee ${r.qboId}: ${r.changed ? 'now' : 'already'} ${state}${r.fresh === false ? ' — decided on the stored copy: QuickBooks could not be read' : ''}`);
}

const duration = (e: Pick<EntryView, 'hours' | 'minutes' | 'start' | 'end'>) =>
  e.start && e.end ? `${e.start.slice(11, 16)}–${e.end.slice(11, 16)}` : `${e.hours ?? 0}h${String(e.minutes ?? 0).padStart(2, '0')}`;

export function printTimeEntries(out: Out, rows: EntryView[]): void {
  out(`${pad('Entry', 25)} ${pad('Date', 10)} ${pad('Time', 11)} ${pad('State', 9)} Detail`);
  for (const r of rows) {
    const detail =
      r.state === 'exported'
        ? `TimeActivity ${r.qboTimeActivityId ?? ''}${r.editedAfterExport ? ' — edited after export: not sent again' : ''}`
        : r.state === 'blocked'
          ? (r.reason ?? '')
          : r.state === 'failed'
            ? `${r.failure?.code ?? ''}: ${r.failure?.message ?? ''}`
            : '';
    out(`${pad(String(r._id), 25)} ${pad(r.date, 10)} ${pad(duration(r), 11)} ${pad(r.state, 9)} ${detail}`);
  }
  out(`\n${rows.length} entries: ${ENTRY_STATES.map((s) => `${rows.filter((r) => r.state === s).length} ${s}`).join(', ')}`);
}

export function printExport(out: Out, d: TimesheetExportDoc): void {
  const c = d.counts;
  const what = d.from ? `${d.from} → ${d.to}` : `${d.entryIds?.length ?? 0} released entries`;
  if (d.state === 'failed') {
    out(`Export ${String(d._id)} (${what}) failed (${d.error.code ?? ''}): ${d.error.message ?? ''}`);
    return;
  }
  out(`Export ${String(d._id)} (${what}) ${d.state}: ${c.total} entries — ${c.exported} exported, ${c.alreadyExported} already exported${c.editedAfterExport ? ` (${c.editedAfterExport} edited since: not sent again)` : ''}, ${c.blocked} blocked, ${c.failed} failed`);
  for (const b of d.blocked) out(`  blocked ${String(b.entryId)}: ${b.reason}`);
  for (const f of d.failed) out(`  failed  ${String(f.entryId)}: ${f.code} ${f.message}`);
  for (const a of d.alreadyExported.filter((x) => x.edited)) out(`  edited after export ${String(a.entryId)} (TimeActivity ${a.qboTimeActivityId}): not sent again`);
}
