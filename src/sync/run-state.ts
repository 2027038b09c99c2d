import type { Types } from 'mongoose';
import { SyncRun, type SyncState } from '../db/models';

/**
 * The sync run state machine, enforced in this one place. `running → running` is a retry
 * attempt picking the run up again.
 */
const ALLOWED: Record<SyncState, readonly SyncState[]> = {
  queued: ['running', 'failed'],
  running: ['running', 'succeeded', 'failed'],
  succeeded: [],
  failed: [],
};

export function canMove(from: SyncState, to: SyncState): boolean {
  return ALLOWED[from].includes(to);
}

/** Moves the run to `to` if its current state allows it; false when it did not move. */
export async function moveRun(runId: Types.ObjectId | string, to: SyncState, set: Record<string, unknown> = {}, inc?: Record<string, number>): Promise<boolean> {
  const from = (Object.keys(ALLOWED) as SyncState[]).filter((s) => canMove(s, to));
  const update: Record<string, unknown> = { $set: { state: to, ...set } };
  if (inc) update.$inc = inc;
  const res = await SyncRun.updateOne({ _id: runId, state: { $in: from } }, update);
  return res.matchedCount === 1;
}
