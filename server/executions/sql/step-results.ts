import type { Db } from '../../db/db.js';

export type StepStatus = 'running' | 'succeeded' | 'failed' | 'aborted' | 'timedout';

export interface StepResult {
  step: string;
  node: string;
  status: StepStatus;
  exitCode: number | null;
  message: string | null;
  startedAt: Date;
  endedAt: Date | null;
}

export async function startStepResult(db: Db, executionId: string, step: string, node: string): Promise<void> {
  await db.query({
    name: 'tandem.startStepResult',
    text: `insert into tandem.step_results (execution_id, step, node, status) values ($1, $2, $3, 'running')
           on conflict (execution_id, step, node) do update set status = 'running', started_at = now(), ended_at = null,
             exit_code = null, message = null`,
    values: [executionId, step, node],
  });
}

export async function finishStepResult(
  db: Db,
  r: { executionId: string; step: string; node: string; status: StepStatus; exitCode: number | null; message: string | null },
): Promise<void> {
  await db.query({
    name: 'tandem.finishStepResult',
    text: `update tandem.step_results set status = $4, exit_code = $5, message = $6, ended_at = now()
           where execution_id = $1 and step = $2 and node = $3`,
    values: [r.executionId, r.step, r.node, r.status, r.exitCode, r.message],
  });
}
