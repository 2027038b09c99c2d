import { Import, type ImportState } from '../db/models';
import { stateMachine } from '../db/state';

/** The import state machine, enforced in this one place. `running → running` is a retry. */
const machine = stateMachine<ImportState>(Import, {
  queued: ['running', 'refused', 'failed'],
  running: ['running', 'succeeded', 'refused', 'failed'],
  succeeded: [],
  refused: [],
  failed: [],
});

export const TERMINAL: readonly ImportState[] = ['succeeded', 'refused', 'failed'];
/** Moves the import to `to` if its current state allows it; false when it did not move. */
export const moveImport = machine.move;
