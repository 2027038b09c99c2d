import { UnrecoverableError } from 'bullmq';
import { inviteJobSchema } from '../queues/member-invites';
import { deliverInvitation, type InviteDeps, type InviteOutcome } from '../src/invites/send';
import { isLastAttempt, parsePayload, type AnyJob } from './jobs';

/**
 * Processor of the `member-invites` queue: one invitation e-mail per job, at most once per
 * member (src/invites/send.ts). SMTP trouble that certainly kept the message from the server
 * retries with backoff; the last attempt records the invitation as failed with the reason.
 */
export function createInviteProcessor(deps: InviteDeps) {
  return async function process(job: AnyJob): Promise<InviteOutcome> {
    if (job.name !== 'invite') throw new UnrecoverableError(`Unknown job ${String(job.name)} on the invites queue`);
    const { memberId } = parsePayload(inviteJobSchema, job.data);
    // InviteRetryError and unknown errors are thrown on: BullMQ retries them with backoff.
    return deliverInvitation({ ...deps, logger: deps.logger.child({ jobId: job.id, memberId }) }, memberId, { lastAttempt: isLastAttempt(job) });
  };
}
