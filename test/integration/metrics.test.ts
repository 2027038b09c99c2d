// Cross-process metrics against the real Redis: two recorders (two processes' worth) add up,
// and the API's registry exposes the sums in Prometheus text.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueues } from '../../queues';
import { createMetrics, metricsKey } from '../../src/metrics';
import { createMetricsRegistry } from '../../src/metrics/registry';
import { setupTestEnv, type TestEnv } from '../helpers/env';

describe('metrics in Redis', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await setupTestEnv('metrics');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('sums counters and histograms from several processes and exposes them', async () => {
    const worker1 = createMetrics(env.redis, env.queuePrefix, { flushMs: 10_000 });
    const worker2 = createMetrics(env.redis, env.queuePrefix, { flushMs: 10_000 });
    for (let i = 0; i < 1000; i++) worker1.inc('qbo_requests_total', { kind: 'cdc', status: '200' });
    worker2.inc('qbo_requests_total', { kind: 'cdc', status: '200' }, 5);
    worker2.inc('qbo_requests_total', { kind: 'query', status: '429' });
    worker1.observe('job_duration_seconds', { queue: 'qbo-sync', job: 'sync', outcome: 'completed' }, 0.2);
    worker2.observe('job_duration_seconds', { queue: 'qbo-sync', job: 'sync', outcome: 'completed' }, 7);
    // Nothing is written before a flush: recording costs no round trip.
    expect(await env.redis.exists(metricsKey(env.queuePrefix, 'qbo_requests_total'))).toBe(0);
    await worker1.flush();
    // One field per label set, whatever the number of events.
    expect(await env.redis.hlen(metricsKey(env.queuePrefix, 'qbo_requests_total'))).toBe(1);
    await worker2.close();
    await worker1.close();

    const queues = createQueues(env.redis, env.queuePrefix);
    try {
      const text = await createMetricsRegistry({ redis: env.redis, prefix: env.queuePrefix, queues: () => queues.all() }).metrics();
      expect(text).toContain('qms_qbo_requests_total{kind="cdc",status="200"} 1005');
      expect(text).toContain('qms_qbo_requests_total{kind="query",status="429"} 1');
      expect(text).toContain('qms_job_duration_seconds_bucket{queue="qbo-sync",job="sync",outcome="completed",le="0.25"} 1');
      expect(text).toContain('qms_job_duration_seconds_bucket{queue="qbo-sync",job="sync",outcome="completed",le="10"} 2');
      expect(text).toContain('qms_job_duration_seconds_count{queue="qbo-sync",job="sync",outcome="completed"} 2');
      expect(text).toContain('qms_job_duration_seconds_sum{queue="qbo-sync",job="sync",outcome="completed"} 7.2');
      expect(text).toContain('qms_queue_jobs{queue="qbo-webhooks",state="waiting"} 0');
    } finally {
      await queues.close();
    }
  });
});
