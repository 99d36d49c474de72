import type { Db } from '../../db/db.js';
import { executionColumns, executionFrom, type ExecutionRow } from './executions.js';

export async function getExecution(db: Db, id: string): Promise<ExecutionRow | null> {
  const { rows } = await db.query<ExecutionRow>({
    name: 'tandem.getExecution',
    text: `select ${executionColumns} from ${executionFrom} where e.id = $1`,
    values: [id],
  });
  return rows[0] ?? null;
}
