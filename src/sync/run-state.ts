import { SyncRun, type SyncState } from '../db/models';
import { stateMachine } from '../db/state';

/**
 * The sync run state machine, enforced in this one place. `running → running` is a retry
 * attempt picking the run up again.
 */
const machine = stateMachine<SyncState>(SyncRun, {
  queued: ['running', 'failed'],
  running: ['running', 'succeeded', 'failed'],
  succeeded: [],
  failed: [],
});

export const canMove = machine.canMove;
/** Moves the run to `to` if its current state allows it; false when it did not move. */
export const moveRun = machine.move;
