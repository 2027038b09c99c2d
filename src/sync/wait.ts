import { SyncRun, type SyncRunDoc } from '../db/models';
import { waitForDoc } from '../db/wait';

/** Polls a sync run until it finished (succeeded or failed); null when `timeoutMs` passed first. */
export function waitForRun(syncRunId: string, timeoutMs: number, pollMs = 200): Promise<SyncRunDoc | null> {
  return waitForDoc(SyncRun, syncRunId, (r) => r.state === 'succeeded' || r.state === 'failed', timeoutMs, pollMs);
}

/** The run as it is now (null when there is no such run). */
export function readRun(syncRunId: string): Promise<SyncRunDoc | null> {
  return SyncRun.findById(syncRunId).lean<SyncRunDoc>();
}
