import { SyncRun, type SyncRunDoc } from '../db/models';

/** Polls a sync run until it finished (succeeded or failed); null when `timeoutMs` passed first. */
export async function waitForRun(syncRunId: string, timeoutMs: number, pollMs = 200): Promise<SyncRunDoc | null> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = await SyncRun.findById(syncRunId).lean<SyncRunDoc>();
    if (run && (run.state === 'succeeded' || run.state === 'failed')) return run;
    if (Date.now() >= until) return null;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
