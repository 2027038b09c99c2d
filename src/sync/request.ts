import type { Redis } from 'ioredis';
import { Types } from 'mongoose';
import type { Queues } from '../../queues';
import { SYNC_JOB_OPTIONS, syncJobId } from '../../queues/sync';
import { Organization, SyncRun, type SyncMode, type SyncTrigger } from '../db/models';
import { loadConnection } from '../qbo/tokens';
import { SyncError } from './run-sync';

/**
 * Asking for a sync. Per organisation at most one run waits while another may run: a request
 * that arrives while one is queued joins it (a full request upgrades a queued incremental one),
 * so bursts of webhooks or clicks coalesce and nothing asked for is lost.
 */

export const pendingKey = (prefix: string, orgId: string) => `${prefix}:sync-pending:${orgId}`;

export interface SyncRequestDeps {
  redis: Redis;
  queues: Queues;
  keyPrefix: string;
}

export interface SyncRequestResult {
  syncRunId: string;
  coalesced: boolean;
}

export async function requestSync(deps: SyncRequestDeps, orgId: string, trigger: SyncTrigger, mode: SyncMode): Promise<SyncRequestResult> {
  if (!Types.ObjectId.isValid(orgId)) throw new SyncError('invalid_org_id', `"${orgId}" is not an organisation id`);
  if (!(await Organization.exists({ _id: orgId }))) throw new SyncError('org_not_found', `Organisation ${orgId} does not exist`);
  const conn = await loadConnection(orgId);
  if (conn.status !== 'connected') {
    throw new SyncError(conn.status === 'needs_reauth' ? 'connection_needs_reauth' : 'qbo_not_connected', `QuickBooks connection of organisation ${orgId} is ${conn.status}`);
  }
  const key = pendingKey(deps.keyPrefix, orgId);
  for (let tries = 0; tries < 10; tries++) {
    const waiting = await deps.redis.get(key);
    if (waiting) {
      const set = mode === 'full' ? { requestedMode: 'full' } : {};
      const joined = await SyncRun.updateOne({ _id: waiting, state: 'queued' }, { $set: set, $inc: { coalesced: 1 } });
      if (joined.matchedCount === 1) {
        // Re-adding under the same job id is a no-op, and heals a producer that died between
        // recording the run and queueing its job.
        await deps.queues.sync.add('sync', { orgId, syncRunId: waiting }, { ...SYNC_JOB_OPTIONS, jobId: syncJobId(waiting) });
        return { syncRunId: waiting, coalesced: true };
      }
      // It started meanwhile: clear the stale marker (only if still the same) and queue a new run.
      await deps.redis.eval(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`, 1, key, waiting);
      continue;
    }
    const runId = new Types.ObjectId();
    await SyncRun.create({ _id: runId, orgId, trigger, requestedMode: mode, state: 'queued' });
    if ((await deps.redis.set(key, String(runId), 'NX')) !== 'OK') {
      await SyncRun.deleteOne({ _id: runId, state: 'queued' });
      continue;
    }
    await deps.queues.sync.add('sync', { orgId, syncRunId: String(runId) }, { ...SYNC_JOB_OPTIONS, jobId: syncJobId(String(runId)) });
    return { syncRunId: String(runId), coalesced: false };
  }
  throw new SyncError('sync_request_contention', `Could not queue a sync for organisation ${orgId}: too much contention`);
}

/** Called by the worker once it owns the org's sync lease: later requests must queue a new run. */
export async function clearPending(redis: Redis, keyPrefix: string, orgId: string, syncRunId: string): Promise<void> {
  await redis.eval(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`, 1, pendingKey(keyPrefix, orgId), syncRunId);
}
