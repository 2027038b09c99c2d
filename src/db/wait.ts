import type { Model } from 'mongoose';

/** Polls one document until `done` says so; null when `timeoutMs` passed first. */
export async function waitForDoc<T>(model: Model<T>, id: string, done: (doc: T) => boolean, timeoutMs: number, pollMs: number): Promise<T | null> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const doc = await model.findById(id).lean<T>();
    if (doc && done(doc)) return doc;
    if (Date.now() >= until) return null;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
