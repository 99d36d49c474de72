import type { Db } from '../../db/db.js';

/** Mean duration in ms of a job's succeeded executions (Rundeck's `averageDuration`), or null when none has succeeded. */
export async function jobAverageDuration(db: Db, jobId: string): Promise<number | null> {
  const { rows } = await db.query<{ ms: number | null }>({
    name: 'tandem.jobAverageDuration',
    text: `select round(avg(extract(epoch from (ended_at - started_at)) * 1000))::float8 as ms
           from tandem.executions where job_id = $1 and status = 'succeeded' and started_at is not null and ended_at is not null`,
    values: [jobId],
  });
  return rows[0]?.ms ?? null;
}
