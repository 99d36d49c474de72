/**
 * The states of a cluster member, as the database judges them from the
 * member's row (tandem_site.members) and the database's own clock — never by
 * comparing members' clocks:
 *
 * - `active`: its last heartbeat is younger than `cluster.inactiveAfter`.
 *   Only active members (in execution mode `active`) are given new executions.
 * - `inactive`: no heartbeat for `cluster.inactiveAfter` (default 3 s): it
 *   may be paused or cut off; it gets no new executions, but its running ones
 *   are left alone.
 * - `dead`: no heartbeat for `cluster.deadAfter` (default 5 s), or already
 *   declared lost: one surviving member closes its queued/running executions
 *   as failed ("member NAME lost"), retries those whose job has `retry`, and
 *   fences its generation (its late writes are refused).
 * - `stopped`: it left cleanly (SIGTERM, drain finished).
 */
export const MEMBER_STATES = Object.freeze(['active', 'inactive', 'dead', 'stopped'] as const);
export type MemberState = (typeof MEMBER_STATES)[number];

/** Execution mode of a member or of the whole site (Rundeck's executions enable/disable). */
export const EXECUTION_MODES = Object.freeze(['active', 'passive'] as const);
export type ExecutionMode = (typeof EXECUTION_MODES)[number];

/** SQL for a member's state from a row aliased `m`; $inactive and $dead are milliseconds. */
export function memberStateSql(inactiveParam: string, deadParam: string): string {
  return `case when m.stopped_at is not null then 'stopped'
               when m.lost_at is not null or now() - m.heartbeat_at >= ${deadParam}::int * interval '1 millisecond' then 'dead'
               when now() - m.heartbeat_at >= ${inactiveParam}::int * interval '1 millisecond' then 'inactive'
               else 'active' end`;
}
