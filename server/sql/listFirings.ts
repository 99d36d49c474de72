import type { Db } from './db.js';
import type { FiringOutcome } from './insertFiring.js';

export interface Firing {
  jobId: string;
  scheduledTime: Date;
  firedAt: Date;
  member: string | null;
  outcome: FiringOutcome;
  executionId: string | null;
  message: string | null;
}

export async function listFirings(db: Db, jobId: string, limit = 100): Promise<Firing[]> {
  const { rows } = await db.query<Firing>({
    name: 'tandem.listFirings',
    text: `select job_id as "jobId", scheduled_time as "scheduledTime", fired_at as "firedAt", member, outcome,
             execution_id as "executionId", message
           from tandem.schedule_firings where job_id = $1 order by scheduled_time desc limit $2`,
    values: [jobId, limit],
  });
  return rows;
}
