import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/** Jobs of the `qbo-sync` queue. */

const objectId = z.string().regex(/^[0-9a-f]{24}$/i, 'must be a 24-hex object id');

// Runs one sync; trigger and mode live on the sync run document (they can be upgraded while queued).
export const syncJobSchema = z.object({ orgId: objectId, syncRunId: objectId });
// Emitted by the per-org job scheduler: asks for an incremental sync through the coalescing path.
export const syncTickSchema = z.object({ orgId: objectId });

export type SyncJob = z.infer<typeof syncJobSchema>;
export type SyncTick = z.infer<typeof syncTickSchema>;

export interface SyncJobs {
  sync: SyncJob;
  'sync-tick': SyncTick;
}

export const SYNC_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'qbo' },
  removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export const syncJobId = (syncRunId: string) => `sync-${syncRunId}`;
export const schedulerId = (orgId: string) => `sync-schedule-${orgId}`;
