import type { Db } from '../../db/db.js';

/**
 * A job's average duration over its last 20 succeeded executions, in ms
 * (null when it never succeeded): when an execution runs past it, the job's
 * `onavgduration` notification is sent (Rundeck's average-duration trigger).
 */
export async function averageJobDuration(db: Db, jobId: string): Promise<number | null> {
  const { rows } = await db.query<{ ms: number | null }>({
    name: 'tandem.averageJobDuration',
    text: `select avg(extract(epoch from (ended_at - started_at)) * 1000)::float8 as ms
           from (select started_at, ended_at from tandem.executions
                 where job_id = $1 and status = 'succeeded' and started_at is not null and ended_at is not null
                 order by created_at desc limit 20) last`,
    values: [jobId],
  });
  return rows[0]?.ms ?? null;
}
