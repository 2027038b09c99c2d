import type { Job, Worker } from 'bullmq';
import type { Logger } from '../src/logger';
import type { Metrics } from '../src/metrics';

function seconds(job: Job | undefined): number | null {
  if (!job?.processedOn || !job.finishedOn) return null;
  return Math.max(0, (job.finishedOn - job.processedOn) / 1000);
}

/**
 * The one place that listens to BullMQ's signals: failures are logged with fixed fields, and
 * every finished attempt is counted (and timed) in the cross-process metrics.
 */
export function observeWorker(worker: Worker, logger: Logger, metrics: Metrics): void {
  worker.on('completed', (job) => {
    const labels = { queue: worker.name, job: job.name, outcome: 'completed' };
    metrics.inc('jobs_total', labels);
    const s = seconds(job);
    if (s !== null) metrics.observe('job_duration_seconds', labels, s);
  });
  worker.on('failed', (job, err) => {
    // Some failures only say "not yet" (a claim still held, a write not landed): retried, not news.
    const quiet = (err as { retryQuietly?: boolean }).retryQuietly === true && !job?.finishedOn;
    logger[quiet ? 'debug' : 'warn']({ queue: worker.name, jobId: job?.id, job: job?.name, attempt: job?.attemptsMade, err }, quiet ? 'Job will be retried' : 'Job failed');
    // BullMQ sets finishedOn only when the job moved to `failed` for good; else it retries.
    const labels = { queue: worker.name, job: job?.name ?? 'unknown', outcome: job?.finishedOn ? 'failed' : 'retrying' };
    metrics.inc('jobs_total', labels);
    const started = job?.processedOn;
    if (started) metrics.observe('job_duration_seconds', labels, Math.max(0, (Date.now() - started) / 1000));
  });
  worker.on('error', (err) => logger.error({ queue: worker.name, err }, 'Worker error'));
  worker.on('stalled', (jobId) => logger.warn({ queue: worker.name, jobId }, 'Job stalled: its worker stopped renewing the lock; it will run again'));
}
