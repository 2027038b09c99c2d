import type { Redis } from 'ioredis';
import type { Types } from 'mongoose';
import { Organization, type OrganizationDoc } from '../db/models';
import { acquire } from '../lock';

/**
 * Member seats. Paid plans have `seatLimit`; free plans are unlimited (seats are still
 * counted). FerretDB runs a conditional update as a read then a write, so the database alone
 * cannot stop two processes from taking the last seat: every change of `seatsUsed` runs under
 * one Redis lock per organisation, and reads the organisation again inside it.
 */
export interface SeatDeps {
  redis: Redis;
  keyPrefix: string;
}

export const orgSeatsLockKey = (prefix: string, orgId: string) => `${prefix}:lock:seats:${orgId}`;

export type SeatOutcome = { ok: true } | { ok: false; seatsNeeded: number; seatsFree: number };

/** Seats still free; null when the plan has no limit. */
export function seatsFree(org: Pick<OrganizationDoc, 'plan' | 'seatLimit' | 'seatsUsed'>): number | null {
  if (org.plan !== 'paid') return null;
  return Math.max(0, (org.seatLimit ?? 0) - org.seatsUsed);
}

async function underSeatLock<T>(deps: SeatDeps, orgId: Types.ObjectId, fn: () => Promise<T>): Promise<T> {
  const lease = await acquire(deps.redis, orgSeatsLockKey(deps.keyPrefix, String(orgId)), 10_000, 15_000);
  if (!lease) throw new Error(`Timed out waiting for the seat lock of organisation ${String(orgId)}`);
  try {
    return await fn();
  } finally {
    await lease.release();
  }
}

/**
 * Takes `n` seats at once or none. With a `holdId` (an import id) the reservation is made at
 * most once: a retry that finds its hold already counted takes nothing more.
 */
export async function takeSeats(deps: SeatDeps, orgId: Types.ObjectId, n: number, holdId?: string): Promise<SeatOutcome> {
  return underSeatLock(deps, orgId, async () => {
    const org = await Organization.findById(orgId, { plan: 1, seatLimit: 1, seatsUsed: 1, seatHolds: 1 }).lean<OrganizationDoc>();
    if (!org) throw new Error(`Organisation ${String(orgId)} is gone`);
    if (holdId && (org.seatHolds ?? []).includes(holdId)) return { ok: true };
    const free = seatsFree(org);
    if (free !== null && n > free) return { ok: false, seatsNeeded: n, seatsFree: free };
    if (n === 0 && !holdId) return { ok: true };
    const update: Record<string, unknown> = { $inc: { seatsUsed: n } };
    if (holdId) update.$push = { seatHolds: holdId };
    await Organization.updateOne({ _id: orgId }, update);
    return { ok: true };
  });
}

/** Gives seats back (a member that could not be created after its seat was taken). */
export async function returnSeats(deps: SeatDeps, orgId: Types.ObjectId, n: number): Promise<void> {
  if (n <= 0) return;
  await underSeatLock(deps, orgId, async () => {
    await Organization.updateOne({ _id: orgId }, { $inc: { seatsUsed: -n } });
  });
}

/** Ends the bookkeeping of a finished import; its seats stay used by the members it created. */
export async function releaseHold(orgId: Types.ObjectId, holdId: string): Promise<void> {
  await Organization.updateOne({ _id: orgId }, { $pull: { seatHolds: holdId } });
}
