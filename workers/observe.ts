import type { Worker } from 'bullmq';
import type { Logger } from '../src/logger';

/** The one place that listens to BullMQ's failure signals and logs them with fixed fields. */
export function observeWorker(worker: Worker, logger: Logger): void {
  worker.on('failed', (job, err) => {
    logger.warn({ queue: worker.name, jobId: job?.id, job: job?.name, attempt: job?.attemptsMade, err }, 'Job failed');
  });
  worker.on('error', (err) => logger.error({ queue: worker.name, err }, 'Worker error'));
  worker.on('stalled', (jobId) => logger.warn({ queue: worker.name, jobId }, 'Job stalled: its worker stopped renewing the lock; it will run again'));
}
