import { Types } from 'mongoose';
import type { Queues } from '../../queues';
import { autoImportJobId, IMPORT_JOB_OPTIONS } from '../../queues/member-import';
import type { NewDetected } from '../../queues/member-events';
import { duplicateIndexes } from '../db/bulk';
import { Detection, Organization, SyncRun, type OrganizationDoc, type SyncRunDoc } from '../db/models';
import { autoImportId } from '../imports/ids';
import { requestImport, type ImportRequestDeps, type ImportRequested } from '../imports/request';

/**
 * Consumers of `member.new_detected`: each detection is recorded (insert-only, one per
 * employee), and organisations that switched auto-import on get one import per sync run for
 * what that run detected, under the same seat rules as an admin's import.
 */

export interface DetectionOutcome {
  recorded: boolean;
  autoImport: boolean;
}

export interface DetectionRecorder {
  record(e: NewDetected): Promise<DetectionOutcome>;
}

interface Waiting {
  e: NewDetected;
  resolve(o: DetectionOutcome): void;
  reject(err: unknown): void;
}

// Detections written by one insertMany at most; the member-events worker's concurrency bounds
// how many wait at once anyway.
const MAX_BATCH = 500;

/**
 * Records detections in batches. A sync queues one member.new_detected per new employee
 * (thousands per full sync), and every database round trip costs the worker about half a
 * millisecond of CPU in the driver alone (bench/README.md): two per event made consuming a
 * sync's events cost more than the sync itself, on the event loop they share. Events that are
 * processed at the same time wait for one insertMany and one read of their organisation,
 * issued after all of them arrived, so nothing is read from before its event was taken.
 */
export function createDetectionRecorder(queues: Queues): DetectionRecorder {
  let waiting: Waiting[] = [];
  let running = false;

  async function flush(batch: Waiting[]): Promise<void> {
    const docs = batch.map(({ e }) => ({
      _id: e.employeeId,
      orgId: new Types.ObjectId(e.orgId),
      qboId: e.qboId,
      syncRunId: e.syncRunId ? new Types.ObjectId(e.syncRunId) : null,
      detectedAt: new Date(e.detectedAt),
    }));
    const repeated = new Set<number>();
    try {
      // Plain driver call: the payload was validated, and mongoose's create costs more than the insert.
      await Detection.collection.insertMany(docs as never[], { ordered: false });
    } catch (err) {
      // Insert-only with the employee id as _id: a repeated event collides, and that is all it does.
      const dups = duplicateIndexes(err);
      if (dups === null || dups.length === 0) throw err;
      for (const i of dups) repeated.add(i);
    }
    const orgIds = [...new Set(batch.map(({ e }) => e.orgId))];
    const orgs = await Promise.all(
      orgIds.map((id) => Organization.collection.findOne({ _id: new Types.ObjectId(id) }, { projection: { settings: 1 } }) as Promise<Pick<OrganizationDoc, 'settings'> | null>),
    );
    const autoImport = new Set(orgIds.filter((_, i) => orgs[i]?.settings?.autoImport === true));
    // One auto-import per sync run, however many employees it detected.
    const runs = new Map<string, { orgId: string; syncRunId: string }>();
    for (const { e } of batch) if (autoImport.has(e.orgId) && e.syncRunId) runs.set(autoImportJobId(e.orgId, e.syncRunId), { orgId: e.orgId, syncRunId: e.syncRunId });
    for (const [jobId, data] of runs) await queues.memberImport.add('auto-import', data, { ...IMPORT_JOB_OPTIONS, jobId, delay: 1000 });
    batch.forEach(({ e, resolve }, i) => resolve({ recorded: !repeated.has(i), autoImport: autoImport.has(e.orgId) && e.syncRunId !== null }));
  }

  /** One batch at a time; what arrives meanwhile forms the next one. */
  async function drain(): Promise<void> {
    running = true;
    try {
      while (waiting.length > 0) {
        const batch = waiting.slice(0, MAX_BATCH);
        waiting = waiting.slice(batch.length);
        await flush(batch).catch((err: unknown) => {
          // Every job of a failed batch fails and is retried by BullMQ; a retry of one that did
          // land is a duplicate, which is harmless.
          for (const w of batch) w.reject(err);
        });
      }
    } finally {
      running = false;
    }
  }

  return {
    record(e) {
      return new Promise<DetectionOutcome>((resolve, reject) => {
        waiting.push({ e, resolve, reject });
        // setImmediate: events whose jobs started in the same turn of the event loop go together.
        if (!running) {
          running = true;
          setImmediate(() => void drain());
        }
      });
    },
  };
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
