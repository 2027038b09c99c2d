import type { SyncRunDoc } from '../db/models';
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
    `Sync ${run.state} (${run.mode ?? run.requestedMode}): ${c.fetched} fetched, ${c.created} new, ${c.updated} updated, ${c.unchanged} unchanged, ${c.deleted} deleted, ${c.skipped} unreadable; ${c.qboRequests} QuickBooks requests`,
  );
  if (run.problems.length > 0) out(`Unreadable rows: ${run.problems.map((p) => `${p.qboId}: ${p.problem}`).join('; ')}`);
  out(run.message ?? '');
}
