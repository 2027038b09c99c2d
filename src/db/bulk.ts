import type { Model } from 'mongoose';

/**
 * FerretDB 1.24 (SQLite backend) never answers an `update` command that carries 100 or more
 * statements: it applies them all and then hangs the connection (reproduced with the plain
 * driver; 99 statements answer). Every multi-row update therefore goes out in chunks below
 * that. MongoDB is indifferent to the chunk size.
 */
export const UPDATE_CHUNK = 50;

export interface SetById {
  _id: unknown;
  set: Record<string, unknown>;
}

/** `$set` on each document by `_id` alone (FerretDB's fastest filter), in safe chunks. */
export async function bulkSetById<T>(model: Model<T>, updates: readonly SetById[]): Promise<void> {
  for (let i = 0; i < updates.length; i += UPDATE_CHUNK) {
    const chunk = updates.slice(i, i + UPDATE_CHUNK);
    await model.bulkWrite(
      chunk.map((u) => ({ updateOne: { filter: { _id: u._id }, update: { $set: u.set } } })) as Parameters<Model<T>['bulkWrite']>[0],
      { ordered: false },
    );
  }
}

interface WriteFailure {
  code?: number;
  writeErrors?: { index: number; code?: number; err?: { code?: number } }[];
}

/** A single insert refused because a document with that unique key exists. */
export function isDuplicateKey(err: unknown): boolean {
  return (err as WriteFailure | null)?.code === 11000;
}

/**
 * For an unordered insertMany that failed: the indexes of the documents refused as duplicates
 * when that is all that went wrong (insert-only ledgers and retried writes collide with what
 * an earlier attempt wrote), else null.
 */
export function duplicateIndexes(err: unknown): number[] | null {
  const e = err as WriteFailure | null;
  const writeErrors = e?.writeErrors ?? [];
  if (writeErrors.length === 0) return e?.code === 11000 ? [] : null;
  return writeErrors.every((w) => (w.code ?? w.err?.code) === 11000) ? writeErrors.map((w) => w.index) : null;
}

/** Inserts the documents that are not stored yet (unordered, lean); the others are left as they are. */
export async function insertNew<T>(model: Model<T>, docs: readonly Record<string, unknown>[]): Promise<void> {
  if (docs.length === 0) return;
  try {
    await model.insertMany(docs as never[], { ordered: false, lean: true });
  } catch (err) {
    if (duplicateIndexes(err) === null) throw err;
  }
}
