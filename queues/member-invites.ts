import type { JobsOptions } from 'bullmq';
import { z } from 'zod';

/** Jobs of the `member-invites` queue: one invitation e-mail per member, ever. */

const objectId = z.string().regex(/^[0-9a-f]{24}$/i, 'must be a 24-hex object id');
export const INVITE_BATCH = 500;

// Ids only: the address and name are read from the member when the mail is sent.
export const inviteJobSchema = z.object({ orgId: objectId, memberId: objectId });
// An import's invitations, a few hundred members per job: one read, one insert of outcomes.
export const inviteBatchJobSchema = z.object({ orgId: objectId, importId: objectId, memberIds: z.array(objectId).min(1).max(INVITE_BATCH) });
export type InviteJob = z.infer<typeof inviteJobSchema>;
export type InviteBatchJob = z.infer<typeof inviteBatchJobSchema>;

export interface InviteJobs {
  invite: InviteJob;
  'invite-batch': InviteBatchJob;
}

// The job id is the member (or the import's batch): queueing it again while the job is kept is
// a no-op, and the sender's claim (src/invites/send.ts) refuses a second send after that.
export const inviteJobId = (memberId: string) => `invite-${memberId}`;
export const inviteBatchJobId = (importId: string, index: number) => `invites-${importId}-${index}`;

export function inviteJobOptions(attempts: number): JobsOptions {
  return {
    attempts,
    backoff: { type: 'invite' },
    removeOnComplete: { age: 30 * 24 * 3600 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}
