import { Job } from 'bullmq';
import { randomUUID } from 'node:crypto';
import type { Queues } from '../../queues';
import { LINK_JOB_OPTIONS } from '../../queues/member-links';
import { employeeKey, QboEmployee } from '../db/models';
import { DomainError } from '../errors';
import type { LinkActionResult } from './links';
import { getOrganization } from './organizations';

/**
 * Producer side of the `member-links` queue: queue an admin's disconnect/connect and wait a
 * little for its answer. Unknown employees are refused before anything is queued.
 */
export type LinkAction = 'disconnect' | 'connect';

export type LinkRequestResult =
  | { done: true; result: LinkActionResult }
  | { done: false; jobId: string };

export async function requestLinkAction(queues: Queues, orgId: string, qboId: string, action: LinkAction, waitMs = 15_000): Promise<LinkRequestResult> {
  const org = await getOrganization(orgId);
  if (typeof qboId !== 'string' || !/^[0-9]{1,20}$/.test(qboId)) throw new DomainError('invalid_employee_id', `"${String(qboId)}" is not a QuickBooks employee id`);
  if (!(await QboEmployee.exists({ _id: employeeKey(org._id, qboId) }))) {
    throw new DomainError('employee_not_found', `QuickBooks employee ${qboId} is not known for this organisation`);
  }
  const jobId = `${action}-${String(org._id)}-${qboId}-${randomUUID()}`;
  await queues.memberLinks.add(action, { orgId: String(org._id), qboId }, { ...LINK_JOB_OPTIONS, jobId });
  return waitForLinkJob(queues, jobId, waitMs);
}

export async function waitForLinkJob(queues: Queues, jobId: string, waitMs: number): Promise<LinkRequestResult> {
  const until = Date.now() + waitMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 200)) {
    const job = await Job.fromId(queues.memberLinks, jobId);
    if (!job) throw new DomainError('link_request_not_found', `Link request ${jobId} is gone`);
    if (job.finishedOn) {
      if (job.failedReason && !job.returnvalue) throw new Error(`Link request failed: ${job.failedReason}`);
      const rv = job.returnvalue as { ok: boolean; result?: LinkActionResult; code?: string; message?: string };
      if (!rv.ok) throw new DomainError(rv.code ?? 'refused', rv.message ?? 'refused');
      return { done: true, result: rv.result as LinkActionResult };
    }
    if (Date.now() >= until) return { done: false, jobId };
    await new Promise((r) => setTimeout(r, delay));
  }
}
