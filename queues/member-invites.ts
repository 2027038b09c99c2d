import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/** Jobs of the `member-invites` queue: one invitation e-mail per member, ever. */

const objectId = z.string().regex(/^[0-9a-f]{24}$/i, 'must be a 24-hex object id');

// Ids only: the address and name are read from the member when the mail is sent.
export const inviteJobSchema = z.object({ orgId: objectId, memberId: objectId });
export type InviteJob = z.infer<typeof inviteJobSchema>;

export interface InviteJobs {
  invite: InviteJob;
}

// The job id is the member: queueing the same member again while its job is kept is a no-op,
// and the worker's own ledger (src/invites/send.ts) refuses a second send after that.
export const inviteJobId = (memberId: string) => `invite-${memberId}`;

export function inviteJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'invite' },
    removeOnComplete: { age: 30 * 24 * 3600 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}
