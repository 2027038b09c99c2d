import { Import, type ImportDoc } from '../db/models';
import { waitForDoc } from '../db/wait';
import { TERMINAL } from './state';

/** Polls an import until it ended (succeeded, refused, failed); null when `timeoutMs` passed first. */
export function waitForImport(importId: string, timeoutMs: number, pollMs = 100): Promise<ImportDoc | null> {
  return waitForDoc(Import, importId, (i) => TERMINAL.includes(i.state), timeoutMs, pollMs);
}
