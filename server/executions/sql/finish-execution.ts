import { memberFenceSql, type WriterFence } from '../../cluster/sql/fence.js';
import type { Db } from '../../db/db.js';
import { closableFrom } from '../status.js';
import type { ExecutionStatus } from './executions.js';

/**
 * Close an execution that is still queued or running (the transition table
 * of ../executions/status.ts; `status` must be final); false when it was
 * already closed, or when `fence` names a member incarnation that has been
 * declared lost (its executions were closed by the member that recovered them).
 */
export async function finishExecution(db: Db, id: string, status: ExecutionStatus, reason: string | null, fence?: WriterFence): Promise<boolean> {
  const r = await db.query({
    name: 'tandem.finishExecution',
    text: `update tandem.executions set status = $2, status_reason = $3, ended_at = now()
           where id = $1 and status = any($6::text[]) and ${memberFenceSql('$4', '$5')}`,
    values: [id, status, reason, fence?.member ?? null, fence?.generation ?? null, closableFrom(status)],
  });
  return (r.rowCount ?? 0) > 0;
}
