/**
 * `node dist/test/bench/ui-exec-explain.js [dir]`: seeds 1,000,000 executions in an embedded
 * PostgreSQL and prints EXPLAIN ANALYZE of the Activity page's first page and capped count for
 * each filter (the plans recorded in sql/091_activity_indexes.sql came from this).
 */
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createEmbeddedPostgres } from '../../server/embedded/postgres.js';
import { migrate } from '../../server/db/migrate.js';
import { executionColumns, executionFrom } from '../../server/executions/sql/executions.js';
import { seedExecutions } from './ui-exec-seed.js';

const N = Number(process.env.N ?? 1_000_000);
const dir = path.join(tmpdir(), `tandem-bench-explain-${process.pid}`);
await mkdir(dir, { recursive: true });
const db = await createEmbeddedPostgres({ dir: path.join(dir, 'pg') });
const pool = new pg.Pool({ connectionString: db.url, max: 2 });
pool.on('error', () => undefined); // idle sessions ended by the stop below
try {
  await migrate(db.url);
  const p = await pool.query<{ id: string }>(`insert into tandem.projects (name, description, created_by) values ('big', '', 'bench') returning id`);
  const t0 = performance.now();
  await seedExecutions(pool, p.rows[0]!.id, N);
  console.log(`seeded ${N} in ${Math.round(performance.now() - t0)} ms`);
  const filters: Array<[string, string, unknown[]]> = [
    ['none', 'true', []],
    ['status=aborted', 'e.status = any($2)', [['aborted']]],
    ['status=failed', 'e.status = any($2)', [['failed']]],
    ['user=user-7', 'e.user_name = $2', ['user-7']],
    ['jobName contains job-17', 'strpos(lower(e.job_name), lower($2)) > 0', ['job-17']],
    ['job=job-17 (exact)', 'e.job_name = $2', ['job-17']],
    ['window 200 days ago, 1 day', 'coalesce(e.ended_at, e.created_at) >= $2 and coalesce(e.ended_at, e.created_at) < $3 and e.created_at < $3', [new Date(Date.now() - 200 * 86400e3), new Date(Date.now() - 199 * 86400e3)]],
    ['status=aborted + user', 'e.status = any($2) and e.user_name = $3', [['aborted'], 'user-7']],
  ];
  for (const [name, cond, vals] of filters) {
    const page = await pool.query(`explain (analyze, costs off, timing on) select ${executionColumns} from ${executionFrom} where e.project_id = $1 and ${cond} order by e.created_at desc, e.id limit 20 offset 0`, [p.rows[0]!.id, ...vals]);
    const count = await pool.query(`explain (analyze, costs off) select count(*)::int from (select 1 from tandem.executions e where e.project_id = $1 and ${cond} limit 10001) c`, [p.rows[0]!.id, ...vals]);
    console.log(`\n=== ${name}: page\n` + page.rows.map((r) => r['QUERY PLAN']).join('\n'));
    console.log(`--- ${name}: capped count\n` + count.rows.map((r) => r['QUERY PLAN']).join('\n'));
  }
} finally {
  await pool.end();
  await db.stop();
  await rm(dir, { recursive: true, force: true });
}
