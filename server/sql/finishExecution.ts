import type { Db } from './db.js';
import type { ExecutionStatus } from './executions.js';

/** Close an execution that is still queued or running; false when it was already closed. */
export async function finishExecution(db: Db, id: string, status: ExecutionStatus, reason: string | null): Promise<boolean> {
  const r = await db.query({
    name: 'tandem.finishExecution',
    text: `update tandem.executions set status = $2, status_reason = $3, ended_at = now()
           where id = $1 and status in ('queued', 'running')`,
    values: [id, status, reason],
  });
  return (r.rowCount ?? 0) > 0;
}
