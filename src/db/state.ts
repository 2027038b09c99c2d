import type { Model, Types } from 'mongoose';

/**
 * A document state machine: the allowed transitions in one table, enforced in one place.
 * `move` changes the state only from a state that may go there (a conditional update), and
 * says whether it did.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any model with a `state` field
export function stateMachine<S extends string>(model: Model<any>, allowed: Record<S, readonly S[]>) {
  const canMove = (from: S, to: S): boolean => allowed[from].includes(to);
  async function move(id: Types.ObjectId | string, to: S, set: Record<string, unknown> = {}, inc?: Record<string, number>): Promise<boolean> {
    const from = (Object.keys(allowed) as S[]).filter((s) => canMove(s, to));
    const update: Record<string, unknown> = { $set: { state: to, ...set } };
    if (inc) update.$inc = inc;
    const res = await model.updateOne({ _id: id, state: { $in: from } }, update);
    return res.matchedCount === 1;
  }
  return { canMove, move };
}
