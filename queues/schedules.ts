import type { Queue } from 'bullmq';
import type { Queues } from './index';
import { SYNC_JOB_OPTIONS, schedulerId } from './sync';

/**
 * One BullMQ job scheduler per connected organisation. Upserting under a fixed id is
 * idempotent: starting any number of processes, any number of times, leaves one scheduler.
 */
export async function ensureSyncSchedule(queues: Queues, orgId: string, everyMinutes: number): Promise<void> {
  const every = everyMinutes * 60_000;
  // Left alone when it already runs at this interval: re-upserting would move its next tick.
  const existing = await (queues.sync as Queue).getJobScheduler(schedulerId(orgId));
  if (existing && Number(existing.every) === every) return;
  // BullMQ types the scheduler id as a job name; the untyped view keeps both honest.
  await (queues.sync as Queue).upsertJobScheduler(
    schedulerId(orgId),
    // The first tick comes one interval from now: connecting already queues the first sync.
    { every, startDate: Date.now() + every },
    { name: 'sync-tick', data: { orgId }, opts: { removeOnComplete: SYNC_JOB_OPTIONS.removeOnComplete, removeOnFail: SYNC_JOB_OPTIONS.removeOnFail, attempts: 3, backoff: { type: 'exponential', delay: 5000 } } },
  );
}

export async function removeSyncSchedule(queues: Queues, orgId: string): Promise<boolean> {
  return (queues.sync as Queue).removeJobScheduler(schedulerId(orgId));
}

export async function listSyncSchedules(queues: Queues): Promise<{ id: string; every: number | null }[]> {
  const all = await queues.sync.getJobSchedulers(0, -1);
  return all.map((s) => ({ id: s.key, every: s.every ? Number(s.every) : null }));
}

/** The organisation a scheduler id of ours names, or null for one that is not ours. */
export function orgOfScheduler(id: string): string | null {
  const prefix = schedulerId('');
  return id.startsWith(prefix) && id.length > prefix.length ? id.slice(prefix.length) : null;
}
