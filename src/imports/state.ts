import type { Types } from 'mongoose';
import { Import, type ImportState } from '../db/models';

/** The import state machine, enforced in this one place. `running → running` is a retry. */
const ALLOWED: Record<ImportState, readonly ImportState[]> = {
  queued: ['running', 'refused', 'failed'],
  running: ['running', 'succeeded', 'refused', 'failed'],
  succeeded: [],
  refused: [],
  failed: [],
};

export const TERMINAL: readonly ImportState[] = ['succeeded', 'refused', 'failed'];

export function canMoveImport(from: ImportState, to: ImportState): boolean {
  return ALLOWED[from].includes(to);
}

/** Moves the import to `to` if its current state allows it; false when it did not move. */
export async function moveImport(id: Types.ObjectId | string, to: ImportState, set: Record<string, unknown> = {}, inc?: Record<string, number>): Promise<boolean> {
  const from = (Object.keys(ALLOWED) as ImportState[]).filter((s) => canMoveImport(s, to));
  const update: Record<string, unknown> = { $set: { state: to, ...set } };
  if (inc) update.$inc = inc;
  const res = await Import.updateOne({ _id: id, state: { $in: from } }, update);
  return res.matchedCount === 1;
}
