import { memberFenceSql } from '../../cluster/sql/fence.js';
import type { Db } from '../../db/db.js';

/**
 * queued → running on `member`; false when it is no longer queued (aborted
 * meanwhile), was handed to another member, or when this member's
 * incarnation (`generation`, null outside a cluster) has been fenced.
 */
export async function markExecutionRunning(db: Db, id: string, member: string, generation: number | null = null): Promise<boolean> {
  const r = await db.query({
    name: 'tandem.markExecutionRunning',
    text: `update tandem.executions set status = 'running', started_at = now(), member = $2
           where id = $1 and status = 'queued' and member = $2 and ${memberFenceSql('$2', '$3')}`,
    values: [id, member, generation],
  });
  return (r.rowCount ?? 0) > 0;
}
