import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { collectDefaultMetrics, Gauge, Registry, type Metric } from 'prom-client';
import { METRICS, metricsKey, samplesFrom, type MetricName } from './index';

/**
 * The API's `/metrics`: prom-client's registry with this process's default metrics, queue
 * depths read from BullMQ at scrape time, and the cross-process counters and histograms read
 * from Redis (src/metrics/index.ts).
 */

export const METRIC_PREFIX = 'qms_';
const JOB_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused', 'completed', 'failed'] as const;

/**
 * prom-client formats any registered object whose `get()` answers name, help, type and
 * samples; this one reads its samples from Redis at scrape time.
 */
function redisBacked(redis: Redis, prefix: string, name: MetricName) {
  const def = METRICS[name];
  const exposed = `${METRIC_PREFIX}${name}`;
  return {
    name: exposed,
    help: def.help,
    type: def.type,
    aggregator: 'sum' as const,
    async get() {
      const hash = await redis.hgetall(metricsKey(prefix, name));
      return { name: exposed, help: def.help, type: def.type, aggregator: 'sum' as const, values: samplesFrom(name, exposed, hash) };
    },
    reset() {
      // Values live in Redis and belong to every process: nothing to reset here.
    },
  };
}

export function createMetricsRegistry(opts: { redis: Redis; prefix: string; queues: () => Queue[] }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: `${METRIC_PREFIX}api_` });
  new Gauge({
    name: `${METRIC_PREFIX}queue_jobs`,
    help: 'Jobs in each BullMQ queue by state, read from Redis at scrape time',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      const queues = opts.queues();
      const counts = await Promise.all(queues.map((q) => q.getJobCounts(...JOB_STATES)));
      queues.forEach((q, i) => {
        for (const state of JOB_STATES) this.set({ queue: q.name, state }, counts[i]?.[state] ?? 0);
      });
    },
  });
  for (const name of Object.keys(METRICS) as MetricName[]) {
    registry.registerMetric(redisBacked(opts.redis, opts.prefix, name) as unknown as Metric);
  }
  return registry;
}
