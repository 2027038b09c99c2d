import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { createQueues, type Queues } from '../queues';
import type { Config } from './config';
import { ALL_MODELS } from './db/models';
import { createLogger, type Logger } from './logger';
import { createMailer, type Mailer } from './mail/mailer';
import { createMetrics, type Metrics } from './metrics';
import { createQboClient, type QboClient } from './qbo/client';

/**
 * The composition root shared by every process: config, logger, connections and queues are
 * built once here and passed in; `close()` tears them down in reverse order, once.
 */
export interface Runtime {
  config: Config;
  logger: Logger;
  redis: Redis;
  queues: Queues;
  qbo: QboClient;
  /** Cross-process counters and histograms in Redis (src/metrics). */
  metrics: Metrics;
  /** SMTP for invitation e-mails (src/mail). */
  mailer: Mailer;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger?: Logger;
  name?: string;
  /**
   * Redis commands fail (within REDIS_COMMAND_TIMEOUT_MS, or at the first failed reconnect)
   * instead of waiting for Redis to come back: for processes that answer people (the API), which
   * must say 503 rather than hang. Worker processes keep waiting, as BullMQ's workers require.
   */
  failFast?: boolean;
}

export async function createRuntime(config: Config, opts: RuntimeOptions = {}): Promise<Runtime> {
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL, { proc: opts.name ?? 'app' });
  // BullMQ's workers want maxRetriesPerRequest null: blocking commands must wait out a Redis restart.
  const redis = new Redis(
    config.REDIS_URL,
    opts.failFast ? { maxRetriesPerRequest: 1, commandTimeout: config.REDIS_COMMAND_TIMEOUT_MS, lazyConnect: false } : { maxRetriesPerRequest: null, lazyConnect: false },
  );
  // One warning per outage; the reconnect attempts that follow are debug lines.
  let warned = false;
  redis.on('error', (err) => {
    if (warned) logger.debug({ err }, 'Redis connection error');
    else logger.warn({ err }, 'Redis connection error');
    warned = true;
  });
  redis.on('ready', () => {
    warned = false;
  });
  // Fail start-up clearly instead of queueing commands forever against an unreachable Redis.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.disconnect();
      reject(new Error(`Redis at ${config.REDIS_URL.replace(/\/\/[^@/]*@/, '//***@')} did not answer within 10 s`));
    }, 10_000);
    redis.ping().then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
  // Tests (and the demo) may hand over an open default connection; then it is theirs to close.
  const ownsMongo = mongoose.connection.readyState === mongoose.ConnectionStates.disconnected;
  if (ownsMongo) await mongoose.connect(config.MONGO_URL, { serverSelectionTimeoutMS: 10_000 });
  await Promise.all(ALL_MODELS.map((m) => m.createIndexes()));
  const queues = createQueues(redis, config.QUEUE_PREFIX);
  const metrics = createMetrics(redis, config.QUEUE_PREFIX, { onError: (err) => logger.debug({ err }, 'Metrics not written') });
  const qbo = createQboClient({
    apiBase: config.qboApiBase,
    authorizeUrl: config.QBO_AUTHORIZE_URL,
    tokenUrl: config.QBO_TOKEN_URL,
    revokeUrl: config.QBO_REVOKE_URL,
    clientId: config.QBO_CLIENT_ID,
    clientSecret: config.QBO_CLIENT_SECRET,
    redirectUri: config.QBO_REDIRECT_URI,
    environment: config.QBO_ENVIRONMENT,
    minorVersion: config.QBO_MINOR_VERSION,
    timeoutMs: config.QBO_HTTP_TIMEOUT_MS,
    onRequest: (kind, status) => metrics.inc('qbo_requests_total', { kind, status }),
  });
  // Pooled and lazy: it connects on the first invitation, so processes that send none pay nothing.
  const mailer = createMailer({ url: config.SMTP_URL, from: config.MAIL_FROM, timeoutMs: config.SMTP_TIMEOUT_MS, maxConnections: config.INVITE_CONCURRENCY });
  let closing: Promise<void> | null = null;
  return {
    config,
    logger,
    redis,
    queues,
    qbo,
    metrics,
    mailer,
    close() {
      closing ??= (async () => {
        mailer.close();
        await metrics.close();
        await queues.close();
        if (ownsMongo) await mongoose.disconnect();
        redis.disconnect();
      })();
      return closing;
    },
  };
}

/** What most domain calls need from the runtime: Redis, the queues and the key prefix. */
export function baseDeps(rt: Pick<Runtime, 'redis' | 'queues' | 'config'>): { redis: Redis; queues: Queues; keyPrefix: string } {
  return { redis: rt.redis, queues: rt.queues, keyPrefix: rt.config.QUEUE_PREFIX };
}
