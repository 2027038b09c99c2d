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
