/**
 * The replicator's states as recorded in tandem_site.replication_state
 * (ensure-schema.ts checks the same four) and the transitions one run (one
 * incarnation) may make:
 *
 *   initial_sync  copying the tables from a snapshot   → streaming, stopped, error;
 *                 → initial_sync again when the copy's connection was lost and it starts over
 *   streaming     applying changes as they come        → stopped, error;
 *                 → streaming again after a reconnect
 *   stopped       caught up (--until-caught-up) or stopped by a signal or an operator's mistake: final
 *   error         stopped on an error it cannot retry (the row keeps it): final
 *
 * A new run (a higher incarnation) starts from whatever the last run left, so
 * its first write may be any state; set-state.ts checks the from-state of a
 * run's own later writes in the same statement.
 */
import { stateMachine } from '../../server/state-machine.js';

export type ReplicatorState = 'initial_sync' | 'streaming' | 'stopped' | 'error';

export const REPLICATOR_STATES: readonly ReplicatorState[] = Object.freeze(['initial_sync', 'streaming', 'stopped', 'error'] as const);

export const replicatorStates = stateMachine<ReplicatorState>('replicator state', REPLICATOR_STATES, {
  initial_sync: ['initial_sync', 'streaming', 'stopped', 'error'],
  streaming: ['streaming', 'stopped', 'error'],
  stopped: [],
  error: [],
});
