import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Queues } from '../../queues';
import { IMPORT_JOB_OPTIONS, importJobId } from '../../queues/member-import';
import { employeeKey, Import, QboConnection, QboEmployee, type ImportDoc, type QboEmployeeDoc } from '../db/models';
import { getOrganization } from '../directory/organizations';
import { seatsFree } from '../directory/seats';
import { loadClaims, loadDirectory } from '../directory/snapshot';
import { DomainError } from '../errors';
import { planImport } from './plan';

/**
 * Asking for an import. Everything that can be refused is refused here, before anything is
 * stored: bad input, an org without QuickBooks, too few seats. The worker then decides again
 * under the org's lease (src/imports/run-import.ts), because the state may move meanwhile.
 */

export const MAX_IMPORT = 5000;
const QBO_ID = /^[0-9]{1,20}$/;

export interface ImportInput {
  employeeIds: unknown;
  sendInvites?: unknown;
  includeInactive?: unknown;
}

export interface ImportRequestDeps {
  redis: Redis;
  queues: Queues;
  keyPrefix: string;
}

export interface ImportRequestOptions {
  requestedBy?: 'admin' | 'auto';
  /** Deterministic id (auto-imports): asking twice returns the first request. */
  importId?: Types.ObjectId;
  syncRunId?: string | null;
}

export interface ImportRequested {
  importId: string;
  seatsNeeded: number;
  /** True when this request had already been made (same importId). */
  existing: boolean;
}

function readIds(raw: unknown): string[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new DomainError('invalid_request', 'employeeIds must be a non-empty list of QuickBooks employee ids');
  if (raw.length > MAX_IMPORT) throw new DomainError('too_many_employees', `At most ${MAX_IMPORT} employees per import (got ${raw.length})`);
  const ids = raw.map((v) => (typeof v === 'number' && Number.isInteger(v) ? String(v) : v));
  const bad = ids.filter((v) => typeof v !== 'string' || !QBO_ID.test(v));
  if (bad.length > 0) throw new DomainError('invalid_employee_id', `Not QuickBooks employee ids: ${bad.slice(0, 10).map((v) => JSON.stringify(v)).join(', ')}`);
  const seen = new Set<string>();
  const dupes = new Set<string>();
  for (const id of ids as string[]) (seen.has(id) ? dupes : seen).add(id);
  if (dupes.size > 0) throw new DomainError('duplicate_employee_ids', `Each employee may be chosen once; repeated: ${[...dupes].slice(0, 10).join(', ')}`, { duplicates: [...dupes] });
  return ids as string[];
}

function readFlag(raw: unknown, name: string, fallback: boolean): boolean {
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw !== 'boolean') throw new DomainError('invalid_request', `${name} must be true or false`);
  return raw;
}

async function loadEmployees(orgId: Types.ObjectId, qboIds: readonly string[]): Promise<Map<string, QboEmployeeDoc>> {
  const docs = await QboEmployee.find({ _id: { $in: qboIds.map((id) => employeeKey(orgId, id)) } }).lean<QboEmployeeDoc[]>();
  return new Map(docs.map((d) => [d.qboId, d]));
}

export async function requestImport(deps: ImportRequestDeps, orgId: string, input: ImportInput, opts: ImportRequestOptions = {}): Promise<ImportRequested> {
  const org = await getOrganization(orgId);
  if (opts.importId) {
    const prior = await Import.findById(opts.importId, { seatsNeeded: 1 }).lean<ImportDoc>();
    if (prior) {
      await enqueue(deps, orgId, String(opts.importId));
      return { importId: String(opts.importId), seatsNeeded: prior.seatsNeeded ?? 0, existing: true };
    }
  }
  const employeeIds = readIds(input.employeeIds);
  const sendInvites = readFlag(input.sendInvites, 'sendInvites', org.settings.inviteByDefault);
  const includeInactive = readFlag(input.includeInactive, 'includeInactive', false);

  const conn = await QboConnection.findOne({ orgId: org._id }, { status: 1 }).lean<{ status: string }>();
  if (!conn || conn.status === 'disconnected') {
    throw new DomainError('qbo_not_connected', `Organisation ${orgId} has no QuickBooks connection: connect one before importing its employees`);
  }
  const employees = await loadEmployees(org._id, employeeIds);
  const unknown = employeeIds.filter((id) => !employees.has(id));
  if (unknown.length > 0) {
    throw new DomainError('unknown_employees', `Not employees of this organisation's QuickBooks company: ${unknown.slice(0, 10).join(', ')}`, { unknown });
  }
  // The same decision the worker makes, so the admin hears about missing seats now.
  const { directory } = await loadDirectory(org._id);
  const plan = planImport(employeeIds, employees, directory, await loadClaims(org._id), { sendInvites, includeInactive });
  const seatsNeeded = plan.filter((p) => p.action === 'create').length;
  const free = seatsFree(org);
  const refused = free !== null && seatsNeeded > free;

  const importId = opts.importId ?? new Types.ObjectId();
  if (refused && opts.requestedBy !== 'auto') {
    throw new DomainError('seat_quota_exceeded', `This import needs ${seatsNeeded} member seats and ${free} are free`, { seatsNeeded, seatsFree: free });
  }
  await Import.create({
    _id: importId,
    orgId: org._id,
    requestedBy: opts.requestedBy ?? 'admin',
    syncRunId: opts.syncRunId ? new Types.ObjectId(opts.syncRunId) : null,
    employeeIds,
    sendInvites,
    includeInactive,
    // An auto-import nobody waits for is recorded as refused, so the admin can see why.
    ...(refused
      ? { state: 'refused', seatsNeeded, seatsFree: free, finishedAt: new Date(), error: { code: 'seat_quota_exceeded', message: `Needs ${seatsNeeded} seats, ${free} free` } }
      : { state: 'queued' }),
    counts: { requested: employeeIds.length, created: 0, skipped: 0, invited: 0 },
  });
  if (!refused) {
    try {
      await enqueue(deps, orgId, String(importId));
    } catch (err) {
      // The caller hears that the import was not taken: so it must not run later either (a
      // worker that finds it failed does nothing). Only while nobody started it.
      await Import.updateOne(
        { _id: importId, state: 'queued' },
        { $set: { state: 'failed', finishedAt: new Date(), error: { code: 'not_queued', message: 'The queue store did not take the import; nothing was done' } } },
      ).catch(() => undefined);
      throw err;
    }
  }
  return { importId: String(importId), seatsNeeded, existing: false };
}

async function enqueue(deps: ImportRequestDeps, orgId: string, importId: string): Promise<void> {
  // Same job id as before: a repeat is a no-op while the job is kept.
  await deps.queues.memberImport.add('import', { orgId, importId }, { ...IMPORT_JOB_OPTIONS, jobId: importJobId(importId) });
}

/** Re-queues imports whose job may have been lost (a crash between storing and queueing). */
export async function requeueWaitingImports(deps: ImportRequestDeps): Promise<number> {
  const waiting = await Import.find({ state: { $in: ['queued', 'running'] } }, { orgId: 1 }).lean<Pick<ImportDoc, '_id' | 'orgId'>[]>();
  for (const imp of waiting) await enqueue(deps, String(imp.orgId), String(imp._id));
  return waiting.length;
}

export async function getImport(orgId: string, importId: string): Promise<ImportDoc> {
  const org = await getOrganization(orgId);
  if (!Types.ObjectId.isValid(importId)) throw new DomainError('import_not_found', `"${importId}" is not an import id`);
  const imp = await Import.findOne({ _id: importId, orgId: org._id }).lean<ImportDoc>();
  if (!imp) throw new DomainError('import_not_found', `Import ${importId} does not exist in this organisation`);
  return imp;
}
