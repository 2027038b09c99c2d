import type { Redis } from 'ioredis';
import type { Types } from 'mongoose';
import type { Queues } from '../../queues';
import { eventJobId } from '../../queues/member-events';
import { INVITE_BATCH, inviteBatchJobId, inviteJobOptions } from '../../queues/member-invites';
import { bulkSetById, insertNew, type SetById } from '../db/bulk';
import { employeeKey, Import, Member, Organization, QboEmployee, type ImportDoc, type ImportItem, type QboEmployeeDoc } from '../db/models';
import { getOrganization } from '../directory/organizations';
import { releaseHold, returnSeats, takeSeats } from '../directory/seats';
import { loadClaims, loadDirectory } from '../directory/snapshot';
import type { Logger } from '../logger';
import { normalizeEmail, normalizeName } from '../matching/normalize';
import { publishEvents, type PendingEvent } from '../sync/events';
import { importedMemberId } from './ids';
import { planImport } from './plan';
import { moveImport, TERMINAL } from './state';

/**
 * Runs one import request under the org's link lease (held by the worker), so no sync or admin
 * link action interleaves. Every step can be repeated after a crash:
 *   1. plan: decided once and stored; a retry follows the stored plan;
 *   2. seats: reserved once, guarded by a hold on the organisation (src/directory/seats.ts);
 *   3. members: deterministic ids, so a repeated insert collides instead of duplicating;
 *   4. invitations: deterministic batch job ids, and the sender's claim refuses a second send;
 *   5. links: written only where not already made, each announced by a deterministic event id.
 */

export interface ImportDeps {
  redis: Redis;
  queues: Queues;
  keyPrefix: string;
  logger: Logger;
  inviteAttempts: number;
}

export interface ImportSummary {
  importId: string;
  state: ImportDoc['state'];
  counts: ImportDoc['counts'];
  seatsNeeded: number | null;
  seatsFree: number | null;
  error: ImportDoc['error'];
}

export function summarize(imp: ImportDoc): ImportSummary {
  return { importId: String(imp._id), state: imp.state, counts: imp.counts, seatsNeeded: imp.seatsNeeded, seatsFree: imp.seatsFree, error: imp.error };
}

export class ImportError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImportError';
  }
}

async function loadEmployees(orgId: Types.ObjectId, qboIds: readonly string[]): Promise<Map<string, QboEmployeeDoc>> {
  const docs = await QboEmployee.find({ _id: { $in: qboIds.map((id) => employeeKey(orgId, id)) } }).lean<QboEmployeeDoc[]>();
  return new Map(docs.map((d) => [d.qboId, d]));
}

async function makePlan(imp: ImportDoc): Promise<ImportItem[]> {
  const employees = await loadEmployees(imp.orgId, imp.employeeIds);
  const { directory } = await loadDirectory(imp.orgId);
  const claims = await loadClaims(imp.orgId);
  const plan = planImport(imp.employeeIds, employees, directory, claims, { sendInvites: imp.sendInvites, includeInactive: imp.includeInactive });
  return plan.map((p): ImportItem =>
    p.action === 'create'
      ? { qboId: p.qboId, outcome: 'pending', reason: null, memberId: importedMemberId(String(imp.orgId), p.qboId), fullName: p.fullName, email: p.email, invite: p.invite }
      : { qboId: p.qboId, outcome: 'skipped', reason: p.reason, memberId: null, fullName: null, email: null, invite: false },
  );
}

async function createMembers(orgId: Types.ObjectId, items: ImportItem[]): Promise<void> {
  const now = new Date();
  const docs = items.map((it) => ({
    _id: it.memberId,
    orgId,
    fullName: it.fullName,
    email: it.email,
    emailKey: normalizeEmail(it.email),
    nameKey: normalizeName(it.fullName),
    // No address, no way to sign in: such members are added without login access.
    loginAccess: it.email !== null,
    invitation: { state: it.invite ? 'queued' : 'none', reason: null },
    origin: 'qbo_import',
    sourceEmployeeId: employeeKey(orgId, it.qboId),
    createdAt: now,
    updatedAt: now,
  }));
  // A retried step finds the members its dead attempt inserted: the same members.
  for (let i = 0; i < docs.length; i += 1000) await insertNew(Member, docs.slice(i, i + 1000));
}

async function queueInvitations(deps: ImportDeps, orgId: string, importId: string, items: ImportItem[]): Promise<void> {
  const opts = inviteJobOptions(deps.inviteAttempts);
  const jobs = [];
  for (let i = 0; i < items.length; i += INVITE_BATCH) {
    const memberIds = items.slice(i, i + INVITE_BATCH).map((it) => String(it.memberId));
    jobs.push({ name: 'invite-batch' as const, data: { orgId, importId, memberIds }, opts: { ...opts, jobId: inviteBatchJobId(importId, i / INVITE_BATCH) } });
  }
  if (jobs.length > 0) await deps.queues.memberInvites.addBulk(jobs);
}

async function linkEmployees(deps: ImportDeps, orgId: Types.ObjectId, items: ImportItem[]): Promise<number> {
  const employees = await loadEmployees(orgId, items.map((it) => it.qboId));
  const now = new Date();
  const events: PendingEvent[] = [];
  const updates: SetById[] = [];
  for (const it of items) {
    const e = employees.get(it.qboId);
    if (!e || e.deleted) continue;
    const memberId = String(it.memberId);
    if (e.link.status === 'connected' && String(e.link.memberId) === memberId) continue;
    const version = e.link.version + 1;
    const from = { status: e.link.status, reason: e.link.reason ?? null, memberId: e.link.memberId ? String(e.link.memberId) : null };
    events.push({
      id: eventJobId.linkChanged(String(orgId), it.qboId, version),
      name: 'member.link_changed',
      data: { orgId: String(orgId), qboId: it.qboId, employeeId: e._id, version, from, to: { status: 'connected', reason: null, memberId }, cause: 'import', at: now.toISOString() },
    });
    updates.push({
      _id: e._id,
      set: {
        link: { status: 'connected', reason: null, memberId: it.memberId, matchedBy: 'import', hint: { memberId: null, fullName: null, kind: null }, version, changedAt: now },
        updatedAt: now,
      },
    });
  }
  // Announced before written, under deterministic ids (see src/sync/events.ts).
  await publishEvents(deps.queues, events);
  await bulkSetById(QboEmployee, updates);
  return updates.length;
}

export async function runImport(deps: ImportDeps, importId: string): Promise<ImportSummary> {
  let imp = await Import.findById(importId).lean<ImportDoc>();
  if (!imp) throw new ImportError('import_not_found', `Import ${importId} does not exist`);
  if (TERMINAL.includes(imp.state)) return summarize(imp);
  const org = await getOrganization(String(imp.orgId));
  const log = deps.logger.child({ orgId: String(org._id), importId });
  await moveImport(imp._id, 'running', { startedAt: imp.startedAt ?? new Date() }, { attempts: 1 });

  let items = imp.items;
  if (!items) {
    items = await makePlan(imp);
    const seatsNeeded = items.filter((it) => it.outcome === 'pending').length;
    await Import.updateOne({ _id: imp._id }, { $set: { items, seatsNeeded } });
    imp = { ...imp, items, seatsNeeded };
  }
  const creates = items.filter((it) => it.outcome !== 'skipped');
  const seats = await takeSeats(deps, org._id, creates.length, importId);
  if (!seats.ok) {
    await moveImport(imp._id, 'refused', {
      seatsNeeded: seats.seatsNeeded,
      seatsFree: seats.seatsFree,
      finishedAt: new Date(),
      'counts.skipped': items.length - creates.length,
      error: { code: 'seat_quota_exceeded', message: `This import needs ${seats.seatsNeeded} member seats and ${seats.seatsFree} are free` },
    });
    log.info({ seatsNeeded: seats.seatsNeeded, seatsFree: seats.seatsFree }, 'Import refused: not enough member seats');
    return summarize((await Import.findById(importId).lean<ImportDoc>()) as ImportDoc);
  }

  await createMembers(org._id, creates);
  // The members exist: their invitations can go while the links are written.
  const invited = creates.filter((it) => it.invite);
  await queueInvitations(deps, String(org._id), importId, invited);
  const linked = await linkEmployees(deps, org._id, creates);

  const done = items.map((it) => (it.outcome === 'skipped' ? it : { ...it, outcome: 'created' as const }));
  const counts = { requested: items.length, created: creates.length, skipped: items.length - creates.length, invited: invited.length };
  await moveImport(imp._id, 'succeeded', { items: done, counts, finishedAt: new Date() });
  await releaseHold(org._id, importId);
  log.info({ ...counts, linked }, 'Import finished');
  return summarize((await Import.findById(importId).lean<ImportDoc>()) as ImportDoc);
}

/**
 * The last attempt failed for a reason no retry fixes: record it, and give back the seats of
 * planned members that were never created (the ones that exist keep theirs).
 */
export async function failImport(deps: Pick<ImportDeps, 'redis' | 'keyPrefix'>, importId: string, code: string, message: string): Promise<void> {
  const imp = await Import.findById(importId, { orgId: 1, items: 1 }).lean<ImportDoc>();
  if (!imp) return;
  if (!(await moveImport(importId, 'failed', { error: { code, message }, finishedAt: new Date() }))) return;
  const org = await Organization.findById(imp.orgId, { seatHolds: 1 }).lean<{ seatHolds?: string[] }>();
  if (!org?.seatHolds?.includes(importId)) return;
  const planned = (imp.items ?? []).filter((it) => it.outcome !== 'skipped').map((it) => it.memberId);
  const existing = planned.length > 0 ? await Member.countDocuments({ _id: { $in: planned } }) : 0;
  await returnSeats(deps, imp.orgId, planned.length - existing);
  await releaseHold(imp.orgId, importId);
}
