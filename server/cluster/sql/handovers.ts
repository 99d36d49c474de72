import type { Db } from '../../db/db.js';

/** Record that `executionId` was handed to `member` now, and wake it (LISTEN tandem_handover). */
export async function recordHandover(db: Db, executionId: string, member: string): Promise<void> {
  await db.query({
    name: 'tandem.cluster.recordHandover',
    text: `with h as (
             insert into tandem_site.handovers (execution_id, member) values ($1, $2)
             on conflict (execution_id) do update set member = excluded.member, assigned_at = now(),
               attempts = tandem_site.handovers.attempts + 1)
           select pg_notify('tandem_handover', $2)`,
    values: [executionId, member],
  });
}

export interface QueuedForMember {
  id: string;
  options: Record<string, string>;
}

/** Executions handed to `member` and not started yet. */
export async function listQueuedFor(db: Db, member: string): Promise<QueuedForMember[]> {
  const { rows } = await db.query<QueuedForMember>({
    name: 'tandem.cluster.listQueuedFor',
    text: `select e.id, e.options from tandem.executions e
           where e.member = $1 and e.status = 'queued' and e.abort_requested_at is null
             and exists (select 1 from tandem_site.handovers h where h.execution_id = e.id)
           order by e.created_at`,
    values: [member],
  });
  return rows;
}

export interface StaleHandover {
  executionId: string;
  member: string;
  project: string;
}

/**
 * In the caller's transaction: hand-overs whose member did not start the
 * execution within `timeoutMs`, locked (skip locked: one member re-hands
 * each), and the records of executions no longer queued removed.
 */
export async function lockStaleHandovers(db: Db, timeoutMs: number): Promise<StaleHandover[]> {
  await db.query({
    name: 'tandem.cluster.pruneHandovers',
    text: `delete from tandem_site.handovers h
           where now() - h.assigned_at >= $1::int * interval '1 millisecond'
             and not exists (select 1 from tandem.executions e where e.id = h.execution_id and e.status = 'queued')`,
    values: [timeoutMs],
  });
  const { rows } = await db.query<StaleHandover>({
    name: 'tandem.cluster.lockStaleHandovers',
    text: `select h.execution_id as "executionId", h.member, p.name as project
           from tandem_site.handovers h
           join tandem.executions e on e.id = h.execution_id and e.status = 'queued' and e.member = h.member
           join tandem.projects p on p.id = e.project_id
           where now() - h.assigned_at >= $1::int * interval '1 millisecond'
           order by h.assigned_at
           limit 100
           for update of h skip locked`,
    values: [timeoutMs],
  });
  return rows;
}

/** Move a queued execution from `from` to `to`; false when it started (or was aborted) meanwhile. */
export async function moveQueuedExecution(db: Db, id: string, from: string, to: string): Promise<boolean> {
  const r = await db.query({
    name: 'tandem.cluster.moveQueuedExecution',
    text: `update tandem.executions set member = $3 where id = $1 and status = 'queued' and member = $2`,
    values: [id, from, to],
  });
  return (r.rowCount ?? 0) > 0;
}
