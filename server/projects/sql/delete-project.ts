import type { Db } from '../../db/db.js';

/** Delete a project and (by cascade) its jobs, executions and their records. */
export async function deleteProject(db: Db, id: string): Promise<boolean> {
  const r = await db.query({ name: 'tandem.deleteProject', text: 'delete from tandem.projects where id = $1', values: [id] });
  return (r.rowCount ?? 0) > 0;
}
