import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/** Jobs of the `member-import` queue: admin imports and the auto-imports detections cause. */

const objectId = z.string().regex(/^[0-9a-f]{24}$/i, 'must be a 24-hex object id');

// Runs one stored import request (its employees, invite switch and plan live on the document).
export const importJobSchema = z.object({ orgId: objectId, importId: objectId });
// Asks for an auto-import of what one sync run detected (orgs with auto-import switched on).
export const autoImportJobSchema = z.object({ orgId: objectId, syncRunId: objectId });

export type ImportJob = z.infer<typeof importJobSchema>;
export type AutoImportJob = z.infer<typeof autoImportJobSchema>;

export interface ImportJobs {
  import: ImportJob;
  'auto-import': AutoImportJob;
}

export const IMPORT_JOB_OPTIONS: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: { age: 7 * 24 * 3600, count: 5000 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export const importJobId = (importId: string) => `import-${importId}`;
export const autoImportJobId = (orgId: string, syncRunId: string) => `auto-import-${orgId}-${syncRunId}`;
