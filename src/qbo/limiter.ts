import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Intuit's per-company limits, held for every worker process together in Redis (QBO.md
 * "Limits and errors"): requests per window (500 a minute), batch requests per window (stay
 * under 40), requests in flight (10). One Lua script decides atomically, on Redis' clock, and
 * answers either a slot (`single` or `batch`) or how long to wait. A slot in flight is a lease
 * that expires, so a process killed mid-request gives its slot back. After a 429 the realm is
 * paused for the time Intuit asked (or a minute), for every process at once.
 */

export interface RealmLimits {
  windowMs: number;
  perWindow: number;
  batchPerWindow: number;
  maxInFlight: number;
  /** Longest a request may hold its in-flight slot (a dead holder frees it after this). */
  leaseMs: number;
}

export type SlotKind = 'single' | 'batch';

export type Admission = { granted: true; kind: SlotKind; release(): Promise<void> } | { granted: false; waitMs: number };

const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local win, bwin, inflight, pause = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local windowMs, perWin, batchPerWin, maxInFlight, leaseMs = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local id, want = ARGV[6], ARGV[7]
local p = redis.call('PTTL', pause)
if p > 0 then return {'', p} end
redis.call('ZREMRANGEBYSCORE', win, '-inf', now - windowMs)
redis.call('ZREMRANGEBYSCORE', bwin, '-inf', now - windowMs)
redis.call('ZREMRANGEBYSCORE', inflight, '-inf', now)
if redis.call('ZCARD', inflight) >= maxInFlight then return {'', 5} end
if redis.call('ZCARD', win) >= perWin then
  local oldest = redis.call('ZRANGE', win, 0, 0, 'WITHSCORES')
  return {'', math.max(1, tonumber(oldest[2]) + windowMs - now + 1)}
end
local kind = 'single'
if want ~= 'single' then
  if redis.call('ZCARD', bwin) < batchPerWin then
    kind = 'batch'
  elseif want == 'batch' then
    local oldest = redis.call('ZRANGE', bwin, 0, 0, 'WITHSCORES')
    return {'', math.max(1, tonumber(oldest[2]) + windowMs - now + 1)}
  end
end
redis.call('ZADD', win, now, id)
if kind == 'batch' then redis.call('ZADD', bwin, now, id) end
redis.call('ZADD', inflight, now + leaseMs, id)
redis.call('PEXPIRE', win, windowMs * 2)
redis.call('PEXPIRE', bwin, windowMs * 2)
redis.call('PEXPIRE', inflight, leaseMs * 2)
return {kind, 0}
`;

export class RealmLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly limits: RealmLimits,
  ) {}

  private keys(realmId: string): string[] {
    const base = `${this.prefix}:qbo-limit:${realmId}`;
    return [`${base}:win`, `${base}:bwin`, `${base}:inflight`, `${base}:pause`];
  }

  /** Asks once for a slot; `want: 'either'` takes a batch slot while there is one, else a single. */
  async tryAcquire(realmId: string, want: SlotKind | 'either'): Promise<Admission> {
    const id = randomUUID();
    const l = this.limits;
    const [kind, wait] = (await this.redis.eval(ACQUIRE, 4, ...this.keys(realmId), l.windowMs, l.perWindow, l.batchPerWindow, l.maxInFlight, l.leaseMs, id, want)) as [string, number];
    if (!kind) return { granted: false, waitMs: Number(wait) };
    const inflight = this.keys(realmId)[2] as string;
    return {
      granted: true,
      kind: kind as SlotKind,
      release: async () => {
        await this.redis.zrem(inflight, id);
      },
    };
  }

  /** Waits for a slot up to `maxWaitMs`; null when the realm stays closed longer (throttled). */
  async acquire(realmId: string, want: SlotKind | 'either', maxWaitMs: number): Promise<Admission> {
    const until = Date.now() + maxWaitMs;
    for (;;) {
      const a = await this.tryAcquire(realmId, want);
      if (a.granted) return a;
      if (Date.now() + a.waitMs > until) return a;
      await new Promise((r) => setTimeout(r, Math.min(a.waitMs, 250)));
    }
  }

  /** Intuit said 429: every process stops sending for this realm for `waitMs`. */
  async pause(realmId: string, waitMs: number): Promise<void> {
    await this.redis.set(this.keys(realmId)[3] as string, '1', 'PX', Math.max(1, Math.floor(waitMs)));
  }
}
