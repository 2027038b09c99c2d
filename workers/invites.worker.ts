import { UnrecoverableError } from 'bullmq';
import type { Queues } from '../queues';
import { inviteBatchJobSchema, inviteJobId, inviteJobOptions, inviteJobSchema } from '../queues/member-invites';
import { backoffMs } from '../src/qbo/classify';
import { deliverBatch, deliverInvitation, type BatchResult, type InviteDeps, type InviteOutcome } from '../src/invites/send';
import { isLastAttempt, parsePayload, type AnyJob } from './jobs';

/**
 * Processor of the `member-invites` queue: invitation e-mails, at most once per member
 * (src/invites/send.ts).
 * - `invite-batch`: an import's invitations; members whose send must be retried get a job each.
 * - `invite`: one member; SMTP trouble that certainly kept the message from the server retries
 *   with backoff, and the last attempt records the invitation as failed with the reason.
 */
export interface InviteWorkerDeps extends InviteDeps {
  queues: Queues;
  attempts: number;
  backoffBaseMs: number;
  /** Sends in flight within one batch. */
  concurrency: number;
}

export function createInviteProcessor(deps: InviteWorkerDeps) {
  return async function process(job: AnyJob): Promise<InviteOutcome | BatchResult> {
    if (job.name === 'invite-batch') {
      const { orgId, memberIds } = parsePayload(inviteBatchJobSchema, job.data);
      const res = await deliverBatch({ ...deps, logger: deps.logger.child({ jobId: job.id, orgId }) }, memberIds, deps.concurrency);
      const delay = Math.max(deps.backoffBaseMs, backoffMs(1, { baseMs: deps.backoffBaseMs }));
      if (res.retry.length > 0) {
        await deps.queues.memberInvites.addBulk(
          res.retry.map((memberId) => ({ name: 'invite' as const, data: { orgId, memberId }, opts: { ...inviteJobOptions(deps.attempts), jobId: inviteJobId(memberId), delay } })),
        );
      }
      return res;
    }
    if (job.name !== 'invite') throw new UnrecoverableError(`Unknown job ${String(job.name)} on the invites queue`);
    const { memberId } = parsePayload(inviteJobSchema, job.data);
    // InviteRetryError and unknown errors are thrown on: BullMQ retries them with backoff.
    return deliverInvitation({ ...deps, logger: deps.logger.child({ jobId: job.id, memberId }) }, memberId, { lastAttempt: isLastAttempt(job) });
  };
}
