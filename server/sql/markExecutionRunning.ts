import type { Db } from './db.js';

/** queued → running; false when it is no longer queued (aborted meanwhile). */
export async function markExecutionRunning(db: Db, id: string, member: string): Promise<boolean> {
  const r = await db.query({
    name: 'tandem.markExecutionRunning',
    text: `update tandem.executions set status = 'running', started_at = now(), member = $2
           where id = $1 and status = 'queued'`,
    values: [id, member],
  });
  return (r.rowCount ?? 0) > 0;
}
