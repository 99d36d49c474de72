import type { Db } from '../../db/db.js';

/** Mark the still-running step results of executions as failed (after a crash). */
export async function closeStepResults(db: Db, executionIds: string[], message: string): Promise<void> {
  await db.query({
    name: 'tandem.closeStepResults',
    text: `update tandem.step_results set status = 'failed', message = $2, ended_at = now()
           where execution_id = any($1::uuid[]) and status = 'running'`,
    values: [executionIds, message],
  });
}
