/**
 * The execution side of a drain (planned switchover), run on the source
 * site's database by the failover command: count what still runs, ask the
 * members to abort it, and close what nobody recorded.
 */
import type { Db } from '../../db/db.js';

export async function countUnfinished(db: Db): Promise<{ queued: number; running: number }> {
  const { rows } = await db.query<{ queued: number; running: number }>({
    name: 'tandem_site.countUnfinished',
    text: `select count(*) filter (where status = 'queued')::int as queued, count(*) filter (where status = 'running')::int as running
             from tandem.executions where status in ('queued', 'running')`,
  });
  return rows[0]!;
}

/** Queued executions never start on a draining site: close them now. */
export async function abortQueued(db: Db, reason: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>({
    name: 'tandem_site.abortQueued',
    text: `update tandem.executions set status = 'aborted', status_reason = $1, ended_at = now()
            where status = 'queued' returning id`,
    values: [reason],
  });
  return rows.map((r) => r.id);
}

/** Ask the members running them to abort (they poll for abort requests, kill the steps and record the end). */
export async function requestAbortRunning(db: Db, by: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>({
    name: 'tandem_site.requestAbortRunning',
    text: `update tandem.executions set abort_requested_at = coalesce(abort_requested_at, now()), abort_requested_by = coalesce(abort_requested_by, $1)
            where status = 'running' returning id`,
    values: [by],
  });
  return rows.map((r) => r.id);
}

/** Close, as aborted, executions whose member did not record their end (member gone or hung). */
export async function closeRunning(db: Db, reason: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>({
    name: 'tandem_site.closeRunning',
    text: `with closed as (
             update tandem.executions set status = 'aborted', status_reason = $1, ended_at = now()
              where status = 'running' returning id)
           , steps as (
             update tandem.step_results s set status = 'aborted', ended_at = now(), message = coalesce(s.message, $1)
               from closed where s.execution_id = closed.id and s.status = 'running')
           select id from closed`,
    values: [reason],
  });
  return rows.map((r) => r.id);
}
