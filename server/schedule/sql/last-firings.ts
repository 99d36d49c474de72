import type { Db } from '../../db/db.js';

/** Latest recorded scheduled time of each job (where the scheduler resumes after downtime). */
export async function lastFirings(db: Db, jobIds: string[]): Promise<Map<string, Date>> {
  const { rows } = await db.query<{ jobId: string; last: Date }>({
    name: 'tandem.lastFirings',
    text: `select job_id as "jobId", max(scheduled_time) as last from tandem.schedule_firings
           where job_id = any($1::text[]) group by job_id`,
    values: [jobIds],
  });
  return new Map(rows.map((r) => [r.jobId, r.last]));
}
