/**
 * Seeding for the Activity measurements: N finished executions of one project in ONE
 * `insert ... select generate_series` (1,000,000 rows in seconds), spread over time, jobs,
 * users and states the way a busy project's history is: mostly succeeded, some failed, few
 * aborted; 200 job names, 50 users, one run every 30 s going back from now.
 */
import type pg from 'pg';

export const SEED_JOBS = 200;
export const SEED_USERS = 50;

export async function seedExecutions(pool: pg.Pool, projectId: string, n: number): Promise<void> {
  const client = await pool.connect();
  try {
    // The foreign-key checks of a million rows (one trigger call each) cost most of the time; the rows
    // reference one project that exists, so they are skipped for this one transaction (superuser only).
    await client.query('begin');
    await client.query('set local session_replication_role = replica');
    await seedRows(client, projectId, n);
    await client.query('commit');
  } catch (e) {
    await client.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
  await pool.query('vacuum analyze tandem.executions');
}

async function seedRows(client: pg.PoolClient, projectId: string, n: number): Promise<void> {
  await client.query({
    name: 'bench.seedExecutions',
    text: `insert into tandem.executions (project_id, job_name, job_group, definition, status, trigger, user_name, member, created_at, started_at, ended_at)
      select $1::uuid, 'job-' || (i % $3::int), 'seeded', '{}'::jsonb,
        case when i % 997 = 0 then 'aborted' when i % 19 = 0 then 'failed' else 'succeeded' end,
        'user', 'user-' || (i % $4::int), 'bench',
        now() - make_interval(secs => i * 30), now() - make_interval(secs => i * 30 - 1), now() - make_interval(secs => i * 30 - 20)
      from generate_series(1, $2::int) i`,
    values: [projectId, n, SEED_JOBS, SEED_USERS],
  });
}
