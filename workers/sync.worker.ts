import { DelayedError, UnrecoverableError } from 'bullmq';
import { SyncRun, type SyncRunDoc } from '../src/db/models';
import type { Logger } from '../src/logger';
import type { Metrics } from '../src/metrics';
import { classifyQboError } from '../src/qbo/classify';
import { ConnectionUnavailableError, markNeedsReauth, loadConnection } from '../src/qbo/tokens';
import { clearPending, requestSync } from '../src/sync/request';
import { runSync, SyncError, type SyncDeps, type SyncResult } from '../src/sync/run-sync';
import { moveRun } from '../src/sync/run-state';
import { releaseAfterSync } from '../src/timesheets/gate-events';
import { syncJobSchema, syncTickSchema } from '../queues/sync';
import { parsePayload, withOrgLease, type AnyJob } from './jobs';

/**
 * Processor of the `qbo-sync` queue. Thin: validate the payload, take the org's sync lease,
 * call the domain, and map failures to BullMQ (permanent → UnrecoverableError, throttled →
 * delayed without spending an attempt, transient → thrown for a backoff retry).
 */

export interface SyncWorkerDeps extends SyncDeps {
  lockTtlMs: number;
  metrics: Metrics;
}

type SyncJobUnion = AnyJob;

async function failRun(deps: SyncWorkerDeps, runId: string, code: string, message: string): Promise<void> {
  if (!(await moveRun(runId, 'failed', { 'error.code': code, 'error.message': message, finishedAt: new Date() }))) return;
  const run = await SyncRun.findById(runId, { trigger: 1, requestedMode: 1, mode: 1 }).lean<Pick<SyncRunDoc, 'trigger' | 'requestedMode' | 'mode'>>();
  if (run) deps.metrics.inc('sync_runs_total', { trigger: run.trigger, mode: run.mode ?? run.requestedMode, outcome: 'failed' });
}

const CHANGE_KINDS = ['created', 'updated', 'deleted', 'linkChanges', 'newDetected'] as const;
const CHANGE_LABEL = { created: 'created', updated: 'updated', deleted: 'deleted', linkChanges: 'link_changes', newDetected: 'new_detected' } as const;

function recordSuccess(deps: SyncWorkerDeps, res: SyncResult, alreadyDone: boolean): void {
  // A finished run handed back again (a duplicate job) was counted when it finished.
  if (alreadyDone) return;
  deps.metrics.inc('sync_runs_total', { trigger: res.trigger, mode: res.mode, outcome: 'succeeded' });
  for (const k of CHANGE_KINDS) {
    if (res.counts[k] > 0) deps.metrics.inc('sync_changes_total', { kind: CHANGE_LABEL[k] }, res.counts[k]);
  }
}

async function tick(deps: SyncWorkerDeps, job: SyncJobUnion, log: Logger): Promise<unknown> {
  const { orgId } = parsePayload(syncTickSchema, job.data);
  try {
    const conn = await loadConnection(orgId);
    if (conn.status !== 'connected') {
      log.info({ status: conn.status }, 'Scheduled sync skipped: connection is not usable');
      return { skipped: conn.status };
    }
    return await requestSync(deps, orgId, 'schedule', 'incremental');
  } catch (err) {
    if (err instanceof ConnectionUnavailableError || err instanceof SyncError) {
      log.warn({ code: err.code }, 'Scheduled sync skipped');
      return { skipped: err.code };
    }
    throw err;
  }
}

export function createSyncProcessor(deps: SyncWorkerDeps) {
  return async function process(job: SyncJobUnion, token?: string): Promise<SyncResult | unknown> {
    const log = deps.logger.child({ jobId: job.id, job: job.name, attempt: job.attemptsMade + 1 });
    if (job.name === 'sync-tick') return tick(deps, job, log);
    if (job.name !== 'sync') throw new UnrecoverableError(`Unknown job ${String(job.name)} on the sync queue`);
    const { orgId, syncRunId } = parsePayload(syncJobSchema, job.data);

    // One sync per organisation at a time, across every worker process.
    try {
      return await withOrgLease(deps, job, token, orgId, log, async () => {
        await clearPending(deps.redis, deps.keyPrefix, orgId, syncRunId);
        const res = await runSync({ ...deps, logger: log }, syncRunId);
        // Entries held back for an employee that was inactive go out once QBO has it active
        // again; no link changes then, so no link event tells the gate.
        if (res.counts.updated > 0) {
          const released = await releaseAfterSync(deps, orgId, syncRunId);
          if (released.length > 0) log.info({ exports: released }, 'Held entries released after the sync');
        }
        recordSuccess(deps, res, res.alreadyDone === true);
        return res;
      });
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      throw await mapFailure(deps, job, token, syncRunId, err, log);
    }
  };
}

async function mapFailure(deps: SyncWorkerDeps, job: SyncJobUnion, token: string | undefined, runId: string, err: unknown, log: Logger): Promise<Error> {
  if (err instanceof ConnectionUnavailableError || err instanceof SyncError) {
    await failRun(deps, runId, err.code, err.message);
    log.warn({ code: err.code }, err.message);
    return new UnrecoverableError(err.message);
  }
  // Our own database going away is not QuickBooks' doing: retry, and say what it is.
  if (err instanceof Error && /^Mongo/.test(err.name)) {
    log.warn({ err }, 'Database error during sync');
    if (job.attemptsMade + 1 >= (job.opts.attempts ?? 1)) await failRun(deps, runId, 'database_unavailable', err.message).catch(() => undefined);
    return err;
  }
  const c = classifyQboError(err);
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  log.warn({ kind: c.kind, code: c.code, status: c.status, reason: c.reason }, 'Sync attempt failed');
  switch (c.kind) {
    case 'throttled': {
      // Intuit asked us to wait: come back then, without spending an attempt.
      await job.moveToDelayed(Date.now() + (c.waitMs ?? 60_000), token);
      return new DelayedError();
    }
    case 'reauth': {
      const run = await SyncRun.findById(runId, { orgId: 1 }).lean<{ orgId: unknown }>();
      if (run) {
        const conn = await loadConnection(String(run.orgId)).catch(() => null);
        if (conn) await markNeedsReauth(conn._id, c.code);
      }
      await failRun(deps, runId, 'connection_needs_reauth', c.reason);
      return new UnrecoverableError(c.reason);
    }
    case 'permanent':
      await failRun(deps, runId, c.code, c.reason);
      return new UnrecoverableError(c.reason);
    default:
      if (lastAttempt) await failRun(deps, runId, c.code, c.reason);
      return err instanceof Error ? err : new Error(c.reason);
  }
}
