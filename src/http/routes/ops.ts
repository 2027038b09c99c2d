import type { FastifyInstance } from 'fastify';
import mongoose from 'mongoose';
import { createMetricsRegistry } from '../../metrics/registry';
import { ApiError } from '../errors';
import type { ApiContext } from '../route';

/** /healthz (the process answers), /readyz (Redis and MongoDB answer), /metrics (Prometheus). */

type Check = 'up' | 'down';

function within<T>(ms: number, p: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export function registerOps(app: FastifyInstance, ctx: ApiContext, opts: { readyTimeoutMs: number }): void {
  const { rt } = ctx;
  const registry = createMetricsRegistry({ redis: rt.redis, prefix: ctx.config.QUEUE_PREFIX, queues: () => rt.queues.all() });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const redis = async (): Promise<Check> => {
      // A disconnected ioredis queues commands until it reconnects: do not wait for that.
      if (rt.redis.status !== 'ready') return 'down';
      return within(opts.readyTimeoutMs, rt.redis.ping()).then(
        () => 'up' as const,
        () => 'down' as const,
      );
    };
    const mongo = async (): Promise<Check> => {
      const db = mongoose.connection.db;
      if (mongoose.connection.readyState !== mongoose.ConnectionStates.connected || !db) return 'down';
      return within(opts.readyTimeoutMs, db.admin().ping()).then(
        () => 'up' as const,
        () => 'down' as const,
      );
    };
    const [r, m] = await Promise.all([redis(), mongo()]);
    const ready = r === 'up' && m === 'up';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: { redis: r, mongodb: m } });
  });

  app.get('/metrics', async (request, reply) => {
    // This process's own recent counts first, so a scrape right after an event sees it.
    await within(2000, rt.metrics.flush()).catch(() => undefined);
    let text: string;
    try {
      text = await within(5000, registry.metrics());
    } catch (err) {
      // The queue depths and cross-process counters live in Redis: no Redis, no scrape.
      request.log.warn({ err }, 'Metrics could not be collected');
      throw new ApiError(503, 'metrics_unavailable', 'Metrics could not be collected: the queue store (Redis) did not answer', {}, { 'Retry-After': '5' });
    }
    return reply.type(registry.contentType).send(text);
  });
}
