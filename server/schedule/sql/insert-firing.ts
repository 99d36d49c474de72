import type { Db } from '../../db/db.js';

export type FiringOutcome = 'started' | 'skipped_misfire' | 'skipped_running' | 'skipped_disabled' | 'failed';

/**
 * Claim one firing of a schedule. Returns true when this caller inserted the
 * (job, scheduled time) row, false when another scheduler loop already did:
 * only the winner may start an execution, in the same transaction.
 */
export async function insertFiring(
  db: Db,
  f: { jobId: string; scheduledTime: Date; member: string; outcome: FiringOutcome; message?: string | null },
): Promise<boolean> {
  const r = await db.query({
    name: 'tandem.insertFiring',
    text: `insert into tandem.schedule_firings (job_id, scheduled_time, member, outcome, message) values ($1, $2, $3, $4, $5)
           on conflict (job_id, scheduled_time) do nothing`,
    values: [f.jobId, f.scheduledTime, f.member, f.outcome, f.message ?? null],
  });
  return (r.rowCount ?? 0) > 0;
}

export async function setFiringOutcome(
  db: Db,
  f: { jobId: string; scheduledTime: Date; outcome: FiringOutcome; executionId: string | null; message?: string | null },
): Promise<void> {
  await db.query({
    name: 'tandem.setFiringOutcome',
    text: `update tandem.schedule_firings set outcome = $3, execution_id = $4, message = $5 where job_id = $1 and scheduled_time = $2`,
    values: [f.jobId, f.scheduledTime, f.outcome, f.executionId, f.message ?? null],
  });
}
