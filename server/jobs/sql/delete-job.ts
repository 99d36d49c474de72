import type { Db } from '../../db/db.js';

/** Delete a job; its executions stay (job_id set null) as history, its firings go. */
export async function deleteJob(db: Db, id: string): Promise<boolean> {
  const r = await db.query({ name: 'tandem.deleteJob', text: 'delete from tandem.jobs where id = $1', values: [id] });
  return (r.rowCount ?? 0) > 0;
}
