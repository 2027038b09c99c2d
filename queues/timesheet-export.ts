import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/** Jobs of the `timesheet-export` queue: one export request (a period, or released entries). */

const objectId = z.string().regex(/^[0-9a-f]{24}$/i, 'must be a 24-hex object id');

export const exportJobSchema = z.object({ orgId: objectId, exportId: objectId });
export type ExportJob = z.infer<typeof exportJobSchema>;

export interface ExportJobs {
  export: ExportJob;
}

export const EXPORT_JOB_OPTIONS: JobsOptions = {
  attempts: 10,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export const exportJobId = (exportId: string) => `export-${exportId}`;
