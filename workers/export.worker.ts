import { DelayedError, UnrecoverableError } from 'bullmq';
import { exportJobSchema } from '../queues/timesheet-export';
import { orgExportLockKey } from '../src/lock';
import { ConnectionUnavailableError } from '../src/qbo/tokens';
import { failExport, RealmThrottledError, runExport, type ExportDeps } from '../src/timesheets/run-export';
import { isLastAttempt, parsePayload, withOrgLease, type AnyJob, type LeaseDeps } from './jobs';

/**
 * Processor of the `timesheet-export` queue: one export at a time per organisation (its own
 * lease, so exports never hold up syncs). A realm QuickBooks is throttling gives its job back
 * for the time asked, without spending an attempt, and the worker serves other organisations.
 */
export type ExportWorkerDeps = ExportDeps & LeaseDeps;

export function createExportProcessor(deps: ExportWorkerDeps) {
  return async function process(job: AnyJob, token?: string): Promise<unknown> {
    if (job.name !== 'export') throw new UnrecoverableError(`Unknown job ${String(job.name)} on the export queue`);
    const { orgId, exportId } = parsePayload(exportJobSchema, job.data);
    const log = deps.logger.child({ jobId: job.id, job: job.name, attempt: job.attemptsMade + 1, orgId, exportId });
    try {
      return await withOrgLease(deps, job, token, orgId, log, () => runExport({ ...deps, logger: log }, exportId), orgExportLockKey(deps.keyPrefix, orgId));
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      if (err instanceof RealmThrottledError) {
        log.info({ waitMs: err.waitMs }, err.message);
        await job.moveToDelayed(Date.now() + err.waitMs, token);
        throw new DelayedError();
      }
      if (err instanceof ConnectionUnavailableError) {
        await failExport(exportId, err.code, err.message);
        throw new UnrecoverableError(err.message);
      }
      if (isLastAttempt(job)) await failExport(exportId, 'export_failed', err instanceof Error ? err.message : String(err));
      throw err;
    }
  };
}
