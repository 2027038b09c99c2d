import { DelayedError, UnrecoverableError } from 'bullmq';
import { autoImportJobSchema, importJobSchema } from '../queues/member-import';
import { DomainError } from '../src/errors';
import { runAutoImport } from '../src/events/member-events';
import { failImport, ImportError, runImport, type ImportDeps } from '../src/imports/run-import';
import { isLastAttempt, parsePayload, withOrgLease, type AnyJob, type LeaseDeps } from './jobs';

/**
 * Processor of the `member-import` queue. `import` runs one stored request under the org's
 * link lease; `auto-import` turns one sync run's detections into an import request. Domain
 * refusals end the job as values; anything else retries with backoff and, on the last
 * attempt, fails the import with its reason (returning the seats it never used).
 */
export type ImportWorkerDeps = ImportDeps & LeaseDeps;

export function createImportProcessor(deps: ImportWorkerDeps) {
  return async function process(job: AnyJob, token?: string): Promise<unknown> {
    const log = deps.logger.child({ jobId: job.id, job: job.name, attempt: job.attemptsMade + 1 });
    if (job.name === 'auto-import') {
      const { orgId, syncRunId } = parsePayload(autoImportJobSchema, job.data);
      try {
        const res = await runAutoImport(deps, orgId, syncRunId);
        if (res.waitForSync) {
          await job.moveToDelayed(Date.now() + 2000, token);
          throw new DelayedError();
        }
        return res;
      } catch (err) {
        if (err instanceof DomainError) {
          log.warn({ code: err.code, orgId }, `Auto-import not requested: ${err.message}`);
          return { refused: err.code };
        }
        throw err;
      }
    }
    if (job.name !== 'import') throw new UnrecoverableError(`Unknown job ${String(job.name)} on the import queue`);
    const { orgId, importId } = parsePayload(importJobSchema, job.data);
    try {
      return await withOrgLease(deps, job, token, orgId, log, () => runImport({ ...deps, logger: log }, importId));
    } catch (err) {
      if (err instanceof DelayedError) throw err;
      if (err instanceof ImportError || err instanceof DomainError) {
        await failImport(deps, importId, err.code, err.message);
        throw new UnrecoverableError(err.message);
      }
      if (isLastAttempt(job)) await failImport(deps, importId, 'import_failed', err instanceof Error ? err.message : String(err));
      throw err;
    }
  };
}
