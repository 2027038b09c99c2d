import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { ZodError } from 'zod';
import { orgLinkLockKey, tryAcquire } from '../src/lock';
import type { Logger } from '../src/logger';

/** What every processor does the same way: read the payload, hold the org's link lease. */

export type AnyJob = Job<unknown, unknown, string>;

/** A queued job may be older than the code running it: a payload that does not parse never will. */
export function parsePayload<T>(schema: { parse(v: unknown): T }, data: unknown): T {
  try {
    return schema.parse(data);
  } catch (err) {
    if (err instanceof ZodError) throw new UnrecoverableError(`Invalid job payload: ${err.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    throw err;
  }
}

export interface LeaseDeps {
  redis: Redis;
  keyPrefix: string;
  lockTtlMs: number;
}

/**
 * Runs `fn` holding the organisation's link lease (src/lock.ts), shared by syncs, imports and
 * admin link actions, so at most one of them writes an org's links at a time, across every
 * process. When another holds it, the job is delayed a second or two (no attempt spent). The
 * lease owner is the job id: a retry of this very job may take over its dead attempt's lease.
 * `key` names another per-organisation lease (exports have their own, so they never hold up syncs).
 */
export async function withOrgLease<T>(deps: LeaseDeps, job: AnyJob, token: string | undefined, orgId: string, log: Logger, fn: () => Promise<T>, key = orgLinkLockKey(deps.keyPrefix, orgId)): Promise<T> {
  const lease = await tryAcquire(deps.redis, key, deps.lockTtlMs, String(job.id));
  if (!lease) {
    await job.moveToDelayed(Date.now() + 1000 + Math.floor(Math.random() * 1000), token);
    throw new DelayedError();
  }
  const heartbeat = setInterval(() => {
    lease.extend(deps.lockTtlMs).catch((err: unknown) => log.warn({ err }, 'Could not extend the org lease'));
  }, Math.max(1000, Math.floor(deps.lockTtlMs / 3)));
  try {
    return await fn();
  } finally {
    clearInterval(heartbeat);
    await lease.release();
  }
}

export const isLastAttempt = (job: AnyJob) => job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
