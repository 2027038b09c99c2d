import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/** Jobs of the `member-links` queue: an admin cuts or restores one employee's link. */

const objectId = z.string().regex(/^[0-9a-f]{24}$/i, 'must be a 24-hex object id');

export const linkJobSchema = z.object({ orgId: objectId, qboId: z.string().min(1).max(40) });
export type LinkJob = z.infer<typeof linkJobSchema>;

export interface LinkJobs {
  disconnect: LinkJob;
  connect: LinkJob;
}

export const LINK_JOB_OPTIONS: JobsOptions = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600, count: 2000 },
  removeOnFail: { age: 7 * 24 * 3600 },
};
