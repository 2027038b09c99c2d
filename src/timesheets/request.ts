import { createHash } from 'node:crypto';
import { Types } from 'mongoose';
import type { Queues } from '../../queues';
import { EXPORT_JOB_OPTIONS, exportJobId } from '../../queues/timesheet-export';
import { isDuplicateKey } from '../db/bulk';
import { QboConnection, TimeEntry, TimesheetExport, type QboConnectionDoc, type TimesheetExportDoc } from '../db/models';
import { waitForDoc } from '../db/wait';
import { getOrganization } from '../directory/organizations';
import { DomainError } from '../errors';
import { validatePeriod } from './validate';

/**
 * Asking for an export. Refused before anything is stored: a bad or reversed period, an org
 * without a working QuickBooks connection, a period with no entries. Everything else is
 * decided per entry by the exporter (src/timesheets/run-export.ts).
 */

/** The export's job, under its own id: queueing it again while the job is kept is a no-op. */
async function enqueueExport(queues: Queues, orgId: string, exportId: string): Promise<void> {
  await queues.timesheetExport.add('export', { orgId, exportId }, { ...EXPORT_JOB_OPTIONS, jobId: exportJobId(exportId) });
}

export async function requestExport(queues: Queues, orgId: string, input: { from?: unknown; to?: unknown }): Promise<{ exportId: string; entries: number }> {
  const org = await getOrganization(orgId);
  const { from, to } = validatePeriod(input.from, input.to);
  const conn = await QboConnection.findOne({ orgId: org._id }, { status: 1 }).lean<Pick<QboConnectionDoc, 'status'>>();
  if (!conn || conn.status === 'disconnected') throw new DomainError('qbo_not_connected', 'This organisation has no QuickBooks connection to export to');
  if (conn.status === 'needs_reauth') throw new DomainError('connection_needs_reauth', 'The QuickBooks connection must be authorised again before time can be exported; nothing was sent');
  const entries = await TimeEntry.countDocuments({ orgId: org._id, date: { $gte: from, $lte: to } });
  if (entries === 0) throw new DomainError('no_time_entries', `No time entries between ${from} and ${to}: nothing to export`);
  const doc = await TimesheetExport.create({ orgId: org._id, requestedBy: 'admin', from, to, state: 'queued' });
  try {
    await enqueueExport(queues, orgId, String(doc._id));
  } catch (err) {
    // The caller hears that the export was not taken: so it must not run later either (a
    // worker that finds it failed sends nothing). Only while nobody started it.
    await TimesheetExport.updateOne(
      { _id: doc._id, state: 'queued' },
      { $set: { state: 'failed', finishedAt: new Date(), error: { code: 'not_queued', message: 'The queue store did not take the export; nothing was sent' } } },
    ).catch(() => undefined);
    throw err;
  }
  return { exportId: String(doc._id), entries };
}

/**
 * Exports entries a member's new link released. `key` names the link change that released
 * them, so a repeated event asks once.
 */
export async function requestRelease(queues: Queues, orgId: Types.ObjectId, entryIds: readonly Types.ObjectId[], key: string): Promise<string> {
  const id = new Types.ObjectId(createHash('sha256').update(`release:${key}`).digest('hex').slice(0, 24));
  try {
    await TimesheetExport.create({ _id: id, orgId, requestedBy: 'release', entryIds, state: 'queued' });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  await enqueueExport(queues, String(orgId), String(id));
  return String(id);
}

/**
 * Queues again the exports that are not finished, in case their job was lost (a producer that
 * died between storing and queueing, or a Redis that lost its data). The job id is the export's,
 * so an export whose job still exists is left alone.
 */
export async function requeueUnfinishedExports(queues: Queues): Promise<number> {
  const open = await TimesheetExport.find({ state: { $in: ['queued', 'running'] } }, { orgId: 1 }).lean<Pick<TimesheetExportDoc, '_id' | 'orgId'>[]>();
  for (const e of open) await enqueueExport(queues, String(e.orgId), String(e._id));
  return open.length;
}

export async function getExport(orgId: string, exportId: string): Promise<TimesheetExportDoc> {
  const org = await getOrganization(orgId);
  const doc = Types.ObjectId.isValid(exportId) ? await TimesheetExport.findOne({ _id: exportId, orgId: org._id }).lean<TimesheetExportDoc>() : null;
  if (!doc) throw new DomainError('export_not_found', `Timesheet export ${exportId} does not exist in this organisation`);
  return doc;
}

export function waitForExport(exportId: string, timeoutMs: number, pollMs = 200): Promise<TimesheetExportDoc | null> {
  return waitForDoc(TimesheetExport, exportId, (d) => d.state === 'succeeded' || d.state === 'failed', timeoutMs, pollMs);
}
