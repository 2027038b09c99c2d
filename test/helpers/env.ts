/**
 * Per-test-file isolation on the shared services started by test/global-setup.ts: a database
 * of its own, a BullMQ/Redis key prefix of its own, and a close() that removes both.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { inject } from 'vitest';
import { ALL_MODELS } from '../../src/db/models';
import { mongoUrlForDb } from '../../src/dev/services';

export interface TestEnv {
  redisUrl: string;
  /** Points at this test's own database. */
  mongoUrl: string;
  dbName: string;
  /** Unique to this env: use it as the BullMQ `prefix` and for any Redis key the test writes. */
  queuePrefix: string;
  /** ioredis with `maxRetriesPerRequest: null` (what BullMQ requires). */
  redis: Redis;
  /** The default mongoose connection (our models are registered on the default instance). */
  mongo: mongoose.Connection;
  /** Keys (or glob patterns) outside queuePrefix that close() must delete too. */
  trackRedisKeys(...keysOrPatterns: string[]): void;
  /** Drops the database, deletes the test's Redis keys, disconnects. */
  close(): Promise<void>;
}

/** FerretDB and MongoDB both accept [A-Za-z0-9_] names under 64 bytes. */
function slug(name: string, max: number): string {
  const s = name.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '');
  return (s || 'test').slice(0, max);
}

async function deleteByPattern(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/** Escapes Redis glob characters so a literal key can be used as a SCAN pattern. */
function globLiteral(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export async function setupTestEnv(name: string): Promise<TestEnv> {
  const servicesError = inject('servicesError');
  if (servicesError) throw new Error(`test services were not started:\n${servicesError}`);
  const redisUrl = inject('redisUrl');
  const baseMongoUrl = inject('mongoUrl');

  const id = `${randomBytes(4).toString('hex')}`;
  const dbName = `t_${slug(name, 40)}_${id}`;
  const queuePrefix = `t-${slug(name, 40)}-${id}`;
  const mongoUrl = mongoUrlForDb(baseMongoUrl, dbName);

  const redis = new Redis(redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
  await redis.connect();

  if (mongoose.connection.readyState !== mongoose.ConnectionStates.disconnected) {
    throw new Error('setupTestEnv: the default mongoose connection is already open (one env per test file)');
  }
  // autoIndex off: indexes are built once, below, and awaited, so tests never race them.
  await mongoose.connect(mongoUrl, { autoIndex: false, serverSelectionTimeoutMS: 10_000 });
  for (const model of ALL_MODELS) {
    await (model as unknown as mongoose.Model<unknown>).syncIndexes();
  }

  const tracked = new Set<string>([`${globLiteral(queuePrefix)}*`]);
  let closed = false;
  return {
    redisUrl,
    mongoUrl,
    dbName,
    queuePrefix,
    redis,
    mongo: mongoose.connection,
    trackRedisKeys(...keysOrPatterns: string[]) {
      for (const k of keysOrPatterns) tracked.add(k);
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await mongoose.connection.dropDatabase();
        for (const pattern of tracked) await deleteByPattern(redis, pattern);
      } finally {
        await mongoose.disconnect();
        await redis.quit().catch(() => redis.disconnect());
      }
    },
  };
}
