import { Types } from 'mongoose';
import type { Queues } from '../../queues';
import { autoImportJobId, IMPORT_JOB_OPTIONS } from '../../queues/member-import';
import type { NewDetected } from '../../queues/member-events';
import { Detection, Organization, SyncRun, type OrganizationDoc, type SyncRunDoc } from '../db/models';
import { autoImportId } from '../imports/ids';
import { requestImport, type ImportRequestDeps, type ImportRequested } from '../imports/request';

/**
 * Consumers of `member.new_detected`: each detection is recorded (insert-only, one per
 * employee), and organisations that switched auto-import on get one import per sync run for
 * what that run detected, under the same seat rules as an admin's import.
 */

export async function recordDetection(queues: Queues, e: NewDetected): Promise<{ recorded: boolean; autoImport: boolean }> {
  let recorded = true;
  try {
    await Detection.create({
      _id: e.employeeId,
      orgId: new Types.ObjectId(e.orgId),
      qboId: e.qboId,
      syncRunId: e.syncRunId ? new Types.ObjectId(e.syncRunId) : null,
      detectedAt: new Date(e.detectedAt),
    });
  } catch (err) {
    if ((err as { code?: number }).code !== 11000) throw err;
    recorded = false; // a repeated event: already recorded
  }
  const org = await Organization.findById(e.orgId, { settings: 1 }).lean<Pick<OrganizationDoc, 'settings'>>();
  if (!org?.settings.autoImport || !e.syncRunId) return { recorded, autoImport: false };
  // One auto-import per sync run, however many employees it detected.
  await queues.memberImport.add('auto-import', { orgId: e.orgId, syncRunId: e.syncRunId }, { ...IMPORT_JOB_OPTIONS, jobId: autoImportJobId(e.orgId, e.syncRunId), delay: 1000 });
  return { recorded, autoImport: true };
}

export type AutoImportResult = { waitForSync: true } | { waitForSync: false; imported: ImportRequested | null };

/**
 * Imports what one sync run detected. Waits for the run to finish first, so that every
 * detection of the run is recorded and the links the run made are in place.
 */
export async function runAutoImport(deps: ImportRequestDeps, orgId: string, syncRunId: string): Promise<AutoImportResult> {
  const run = await SyncRun.findById(syncRunId, { state: 1 }).lean<Pick<SyncRunDoc, 'state'>>();
  if (run && (run.state === 'queued' || run.state === 'running')) return { waitForSync: true };
  const org = await Organization.findById(orgId, { settings: 1 }).lean<Pick<OrganizationDoc, 'settings'>>();
  if (!org?.settings.autoImport) return { waitForSync: false, imported: null };
  const detected = await Detection.find({ orgId: new Types.ObjectId(orgId), syncRunId: new Types.ObjectId(syncRunId) }, { qboId: 1 }).lean<{ qboId: string }[]>();
  if (detected.length === 0) return { waitForSync: false, imported: null };
  const employeeIds = [...new Set(detected.map((d) => d.qboId))];
  const imported = await requestImport(
    deps,
    orgId,
    { employeeIds, sendInvites: org.settings.inviteByDefault },
    { requestedBy: 'auto', importId: autoImportId(orgId, syncRunId), syncRunId },
  );
  return { waitForSync: false, imported };
}
