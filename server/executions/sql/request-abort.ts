import type { Db } from '../../db/db.js';
import type { ExecutionStatus } from './executions.js';

/**
 * Record an abort request. A queued execution is closed as aborted at once;
 * a running one is left to the member running it, which kills it. Returns
 * the status after the request, or null when the execution does not exist.
 */
export async function requestAbort(db: Db, id: string, user: string | null): Promise<{ status: ExecutionStatus; member: string | null } | null> {
  const { rows } = await db.query<{ status: ExecutionStatus; member: string | null }>({
    name: 'tandem.requestAbort',
    text: `update tandem.executions set
             abort_requested_at = coalesce(abort_requested_at, now()),
             abort_requested_by = coalesce(abort_requested_by, $2),
             status = case when status = 'queued' then 'aborted' else status end,
             status_reason = case when status = 'queued' then 'aborted before it started' else status_reason end,
             ended_at = case when status = 'queued' then now() else ended_at end
           where id = $1
           returning status, member`,
    values: [id, user],
  });
  return rows[0] ?? null;
}
