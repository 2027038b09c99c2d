import { Types } from 'mongoose';
import { EntryExport, EntryFailure, Member, QboConnection, TimeEntry, type BlockReason, type EntryExportDoc, type EntryState, type EntryFailureDoc, type QboConnectionDoc, type TimeEntryDoc } from '../db/models';
import { getOrganization } from '../directory/organizations';
import { DomainError } from '../errors';
import { connectionGate, loadGates } from './gate';
import { mergeEntryPatch, sameEntry, validateEntry, validateRange, type TimeEntryInput, type TimeEntryPatch } from './validate';

/**
 * Time entries and their export state. The state is derived, not stored on the entry:
 * `exported` when the insert-only ledger has it (with the TimeActivity Id; `editedAfterExport`
 * when the entry changed since), `failed` when QBO refused its current revision, `blocked`
 * with the reason when the gate is closed for its member right now, else `pending`.
 */

export type EntryView = TimeEntryDoc & {
  state: EntryState;
  reason: BlockReason | null;
  qboTimeActivityId: string | null;
  editedAfterExport: boolean;
  failure: { code: string | null; message: string | null } | null;
};

async function memberOf(orgId: Types.ObjectId, memberId: unknown): Promise<Types.ObjectId> {
  if (typeof memberId !== 'string' || !Types.ObjectId.isValid(memberId)) throw new DomainError('invalid_member_id', 'memberId must be a member id (24 hex characters)');
  const m = await Member.exists({ _id: memberId, orgId });
  if (!m) throw new DomainError('member_not_found', `Member ${memberId} is not in this organisation`);
  return new Types.ObjectId(memberId);
}

export async function createTimeEntry(orgId: string, input: TimeEntryInput): Promise<TimeEntryDoc> {
  const org = await getOrganization(orgId);
  const valid = validateEntry(input);
  const memberId = await memberOf(org._id, input.memberId);
  const doc = await TimeEntry.create({ orgId: org._id, memberId, ...valid, revision: 1 });
  return doc.toObject() as TimeEntryDoc;
}

/**
 * Changes what the entry says (not whose it is): the fields given replace the stored ones, the
 * rest stay (mergeEntryPatch), and the result is checked like a new entry. A change bumps the
 * revision, which is how the next export reports an already exported entry as edited; an
 * edit that changes nothing leaves the revision alone. The write is conditional on the
 * revision read, so two edits at once do not merge into something neither asked for.
 */
export async function updateTimeEntry(orgId: string, entryId: string, patch: TimeEntryPatch): Promise<TimeEntryDoc> {
  const org = await getOrganization(orgId);
  if (!Types.ObjectId.isValid(entryId)) throw new DomainError('time_entry_not_found', `"${entryId}" is not a time entry id`);
  if ((patch as TimeEntryInput).memberId !== undefined) throw new DomainError('invalid_member_id', 'An entry cannot be moved to another member');
  for (let attempt = 0; attempt < 5; attempt++) {
    const stored = await TimeEntry.findOne({ _id: entryId, orgId: org._id }).lean<TimeEntryDoc>();
    if (!stored) throw new DomainError('time_entry_not_found', `Time entry ${entryId} is not in this organisation`);
    const valid = validateEntry(mergeEntryPatch(stored, patch));
    if (sameEntry(stored, valid)) return stored;
    const doc = await TimeEntry.findOneAndUpdate(
      { _id: entryId, orgId: org._id, revision: stored.revision },
      { $set: valid, $inc: { revision: 1 } },
      { new: true },
    ).lean<TimeEntryDoc>();
    if (doc) return doc;
  }
  throw new Error(`Time entry ${entryId} kept changing while it was being edited`);
}

export async function entriesInPeriod(orgId: Types.ObjectId, from: string, to: string, memberId?: Types.ObjectId): Promise<TimeEntryDoc[]> {
  const filter: Record<string, unknown> = { orgId, date: { $gte: from, $lte: to } };
  if (memberId) filter.memberId = memberId;
  const rows = await TimeEntry.find(filter).lean<TimeEntryDoc[]>();
  return rows.sort((a, b) => a.date.localeCompare(b.date) || String(a._id).localeCompare(String(b._id)));
}

/** For each entry: its ledger record, and its refusals (attempt numbers come from their count). */
export async function exportRecords(entryIds: readonly Types.ObjectId[]): Promise<{ exported: Map<string, EntryExportDoc>; failures: Map<string, EntryFailureDoc[]> }> {
  if (entryIds.length === 0) return { exported: new Map(), failures: new Map() };
  const [ledger, refusals] = await Promise.all([
    EntryExport.find({ _id: { $in: entryIds } }).lean<EntryExportDoc[]>(),
    EntryFailure.find({ entryId: { $in: entryIds } }).lean<EntryFailureDoc[]>(),
  ]);
  const failures = new Map<string, EntryFailureDoc[]>();
  for (const f of refusals) {
    const list = failures.get(String(f.entryId)) ?? [];
    list.push(f);
    failures.set(String(f.entryId), list);
  }
  return { exported: new Map(ledger.map((d) => [String(d._id), d])), failures };
}

export async function listTimeEntries(orgId: string, q: { from?: unknown; to?: unknown; memberId?: unknown } = {}): Promise<EntryView[]> {
  const org = await getOrganization(orgId);
  // A reversed range is refused as the export refuses it, not answered with no entries.
  const { from, to } = validateRange(q.from ?? '2000-01-01', q.to ?? '2100-12-31');
  const memberId = q.memberId === undefined ? undefined : await memberOf(org._id, q.memberId);
  const entries = await entriesInPeriod(org._id, from, to, memberId);
  const { exported, failures } = await exportRecords(entries.map((e) => e._id));
  const conn = await QboConnection.findOne({ orgId: org._id }, { status: 1 }).lean<Pick<QboConnectionDoc, 'status'>>();
  const connBlock = connectionGate(conn);
  const gates = await loadGates(org._id, [...new Set(entries.map((e) => String(e.memberId)))]);
  return entries.map((e): EntryView => {
    const done = exported.get(String(e._id));
    const base = { ...e, reason: null, qboTimeActivityId: null, editedAfterExport: false, failure: null };
    if (done) return { ...base, state: 'exported', qboTimeActivityId: done.qboTimeActivityId, editedAfterExport: e.revision > done.revision };
    const refused = (failures.get(String(e._id)) ?? []).filter((f) => f.revision === e.revision).sort((a, b) => b.at.getTime() - a.at.getTime())[0];
    if (refused) return { ...base, state: 'failed', failure: { code: refused.code, message: refused.message } };
    const gate = gates.get(String(e.memberId));
    const reason = connBlock ?? (gate && !gate.ok ? gate.reason : null);
    return reason ? { ...base, state: 'blocked', reason } : { ...base, state: 'pending' };
  });
}
