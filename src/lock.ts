import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Redis lease shared by every process: SET NX PX with an owner token, released and extended
 * only by its owner (compare-and-act in Lua, so an expired lease taken by someone else is safe).
 */

const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

export interface Lease {
  key: string;
  owner: string;
  /** Pushes the expiry out again; false when the lease was lost. */
  extend(ttlMs: number): Promise<boolean>;
  release(): Promise<void>;
}

export async function tryAcquire(redis: Redis, key: string, ttlMs: number, owner: string = randomUUID()): Promise<Lease | null> {
  const ok = await redis.set(key, owner, 'PX', ttlMs, 'NX');
  if (ok !== 'OK') {
    // The same owner may take its own lease again (a retried job whose last attempt died).
    if ((await redis.get(key)) !== owner) return null;
    await redis.pexpire(key, ttlMs);
  }
  return {
    key,
    owner,
    async extend(ms) {
      return (await redis.eval(EXTEND, 1, key, owner, String(ms))) === 1;
    },
    async release() {
      await redis.eval(RELEASE, 1, key, owner);
    },
  };
}

/** Waits (polling) until the lease is free or `waitMs` passed; null on timeout. */
export async function acquire(redis: Redis, key: string, ttlMs: number, waitMs: number): Promise<Lease | null> {
  const owner = randomUUID();
  const until = Date.now() + waitMs;
  for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
    const lease = await tryAcquire(redis, key, ttlMs, owner);
    if (lease || Date.now() >= until) return lease;
    await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * The per-organisation lease under which everything that writes employee links runs: syncs
 * and admin link actions. Holding it is what lets a sync write rows by _id alone.
 */
export const orgLinkLockKey = (prefix: string, orgId: string) => `${prefix}:lock:sync:${orgId}`;

/** One timesheet export per organisation at a time (apart from the link lease: exports are long). */
export const orgExportLockKey = (prefix: string, orgId: string) => `${prefix}:lock:export:${orgId}`;
