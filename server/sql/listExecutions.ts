import type { Db } from './db.js';
import { executionColumns, executionFrom, type ExecutionRow, type ExecutionStatus } from './executions.js';

/** A project's executions, newest first, optionally of one status. */
export async function listExecutions(
  db: Db,
  q: { projectId: string; status?: ExecutionStatus; jobId?: string; limit: number; offset: number },
): Promise<{ rows: ExecutionRow[]; total: number }> {
  const where = `e.project_id = $1 and ($2::text is null or e.status = $2) and ($3::text is null or e.job_id = $3)`;
  const values = [q.projectId, q.status ?? null, q.jobId ?? null];
  const [list, count] = await Promise.all([
    db.query<ExecutionRow>({
      name: 'tandem.listExecutions',
      text: `select ${executionColumns} from ${executionFrom} where ${where} order by e.created_at desc, e.id limit $4 offset $5`,
      values: [...values, q.limit, q.offset],
    }),
    db.query<{ n: number }>({
      name: 'tandem.countExecutions',
      text: `select count(*)::int as n from tandem.executions e where ${where}`,
      values,
    }),
  ]);
  return { rows: list.rows, total: count.rows[0]!.n };
}
