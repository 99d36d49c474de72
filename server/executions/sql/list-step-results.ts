import type { Db } from '../../db/db.js';
import type { StepResult } from './step-results.js';

export async function listStepResults(db: Db, executionId: string): Promise<StepResult[]> {
  const { rows } = await db.query<StepResult>({
    name: 'tandem.listStepResults',
    text: `select step, node, status, exit_code as "exitCode", message, started_at as "startedAt", ended_at as "endedAt"
           from tandem.step_results where execution_id = $1 order by started_at, step`,
    values: [executionId],
  });
  return rows;
}
