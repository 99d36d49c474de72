/**
 * Execution statuses and the transitions between them (server/README.md
 * "Execution states"). The statements that change a status check the
 * from-status in the same update (`where status = any(...)` with
 * `executionStatuses.sourcesOf(to)`), so two members, an abort and a finish
 * cannot both close one execution: the second finds it closed and changes nothing.
 */
import { stateMachine } from '../state-machine.js';

export type ExecutionStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'aborted' | 'timedout';

export const EXECUTION_STATUSES: readonly ExecutionStatus[] = Object.freeze(['queued', 'running', 'succeeded', 'failed', 'aborted', 'timedout'] as const);

/** An execution in one of these has ended; nothing changes its status again. */
export const FINAL_STATUSES: readonly ExecutionStatus[] = Object.freeze(['succeeded', 'failed', 'aborted', 'timedout'] as const);

export const executionStatuses = stateMachine<ExecutionStatus>('execution status', EXECUTION_STATUSES, {
  // queued → running: a member starts it; queued → final: aborted before it started, closed by a drain or the
  // recovery of a lost member, or failed before its first step (e.g. no node matched).
  queued: ['running', ...FINAL_STATUSES],
  running: FINAL_STATUSES,
  succeeded: [],
  failed: [],
  aborted: [],
  timedout: [],
});

export function isFinal(status: ExecutionStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** The from-statuses a close to `status` may start from (throws illegal_transition for a status that is not final). */
export function closableFrom(status: ExecutionStatus): ExecutionStatus[] {
  if (!isFinal(status)) throw executionStatuses.illegal('queued|running', status);
  return executionStatuses.sourcesOf(status);
}
