import type { Db } from '../../db/db.js';

/** Queued or running executions of a project (a project with some cannot be deleted). */
export async function countActiveExecutions(db: Db, projectId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: 'tandem.countActiveExecutions',
    text: `select count(*)::int as n from tandem.executions where project_id = $1 and status in ('queued', 'running')`,
    values: [projectId],
  });
  return rows[0]!.n;
}
