import { Import, type ImportDoc } from '../db/models';
import { TERMINAL } from './state';

/** Polls an import until it ended (succeeded, refused, failed); null when `timeoutMs` passed first. */
export async function waitForImport(importId: string, timeoutMs: number, pollMs = 100): Promise<ImportDoc | null> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const imp = await Import.findById(importId).lean<ImportDoc>();
    if (imp && TERMINAL.includes(imp.state)) return imp;
    if (Date.now() >= until) return null;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
