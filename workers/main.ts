import { ConfigError, loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { requeueWaitingImports } from '../src/imports/request';
import { requeueUnfinishedExports } from '../src/timesheets/request';
import { baseDeps, createRuntime } from '../src/runtime';
import { reconcileSchedules, startWorkers } from './index';

/**
 * `npm run start:worker`: every queue's worker in one process. Stateless: run as many copies
 * as you like. On SIGTERM/SIGINT the workers drain (active jobs finish) before connections close,
 * for at most WORKER_DRAIN_TIMEOUT_MS; a second signal, or the deadline, stops the process at once
 * (its jobs are then taken over like a crashed worker's, which every processor is built for).
 */

const RECOVER_INTERVAL_MS = 5 * 60_000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger(config.LOG_LEVEL, { proc: 'worker' });
  const rt = await createRuntime(config, { logger });
  const workers = startWorkers(rt, { lockDurationMs: config.WORKER_LOCK_DURATION_MS, stalledIntervalMs: config.WORKER_STALLED_INTERVAL_MS });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'Second signal: stopping now; active jobs are taken over once their locks expire');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal, drainTimeoutMs: config.WORKER_DRAIN_TIMEOUT_MS }, 'Draining workers');
    setTimeout(() => {
      logger.warn({ drainTimeoutMs: config.WORKER_DRAIN_TIMEOUT_MS }, 'Drain deadline passed: stopping now; active jobs are taken over once their locks expire');
      process.exit(1);
    }, config.WORKER_DRAIN_TIMEOUT_MS).unref();
    void workers
      .close()
      .then(() => rt.close())
      .then(() => {
        logger.info('Stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        logger.error({ err }, 'Shutdown failed');
        process.exit(1);
      });
  };
  // Before anything else awaits: the workers take jobs from the moment they exist.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  // What Redis should hold but may not: a schedule per connected organisation, and a job for
  // every import and export stored as unfinished (a producer that died in between, a request
  // cut short by a Redis outage, a Redis that lost its data). At start, then every RECOVER_INTERVAL_MS.
  const recover = async () => ({
    scheduled: await reconcileSchedules(rt),
    imports: await requeueWaitingImports(baseDeps(rt)),
    exports: await requeueUnfinishedExports(rt.queues),
  });
  const recovered = await recover();
  logger.info({ ...recovered, queuePrefix: config.QUEUE_PREFIX }, 'Workers started');
  setInterval(() => {
    if (stopping) return;
    recover().catch((err: unknown) => logger.warn({ err }, 'Could not restore schedules and unfinished requests'));
  }, RECOVER_INTERVAL_MS).unref();
}

main().catch((err: unknown) => {
  process.stderr.write(`Worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
