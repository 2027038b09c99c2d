import { UnrecoverableError } from 'bullmq';
import { Types } from 'mongoose';
import { linkJobSchema } from '../queues/member-links';
import { connectUnderLease, disconnectUnderLease, type ConnectDeps, type LinkActionResult } from '../src/directory/links';
import { DomainError } from '../src/errors';
import { parsePayload, withOrgLease, type AnyJob, type LeaseDeps } from './jobs';

/**
 * Processor of the `member-links` queue: an admin's disconnect or connect of one employee,
 * under the org's link lease. Refusals (unknown employee) are returned as values, so the
 * caller waiting on the job gets a clear answer instead of a failed job.
 */
export type LinkWorkerDeps = ConnectDeps & LeaseDeps;

export type LinkJobResult = { ok: true; result: LinkActionResult } | { ok: false; code: string; message: string };

export function createLinkProcessor(deps: LinkWorkerDeps) {
  return async function process(job: AnyJob, token?: string): Promise<LinkJobResult> {
    const log = deps.logger.child({ jobId: job.id, job: job.name, attempt: job.attemptsMade + 1 });
    if (job.name !== 'connect' && job.name !== 'disconnect') throw new UnrecoverableError(`Unknown job ${String(job.name)} on the links queue`);
    const { orgId, qboId } = parsePayload(linkJobSchema, job.data);
    const org = new Types.ObjectId(orgId);
    try {
      const result = await withOrgLease(deps, job, token, orgId, log, () =>
        job.name === 'connect' ? connectUnderLease({ ...deps, logger: log }, org, qboId) : disconnectUnderLease(deps, org, qboId),
      );
      return { ok: true, result };
    } catch (err) {
      if (err instanceof DomainError) return { ok: false, code: err.code, message: err.message };
      throw err;
    }
  };
}
