import t from 'tap';
import { startPostgres } from '../harness/postgres.js';
import { migrate } from '../../server/db/migrate.js';
import { testPool } from '../harness/pool.js';

t.test('core schema: every tandem table has a primary key; one active execution per exclusive job', async (t) => {
  const server = await startPostgres(t, { name: 'schema' });
  const url = await server.createDatabase('schema');
  const res = await migrate(url);
  t.ok(res.applied.includes('002_core.sql'), 'the core migration is applied');
  const pool = testPool(t, { connectionString: url });
  const noPk = await pool.query(`
    select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'tandem' and c.relkind in ('r', 'p')
      and not exists (select 1 from pg_constraint k where k.conrelid = c.oid and k.contype = 'p')`);
  t.same(noPk.rows, [], 'no table of schema tandem lacks a primary key');

  const p = await pool.query<{ id: string }>(`insert into tandem.projects (name) values ('ops') returning id`);
  await pool.query(`insert into tandem.jobs (id, project_id, name, definition) values ('j1', $1, 'deploy', '{}')`, [p.rows[0]!.id]);
  const ins = `insert into tandem.executions (project_id, job_id, job_name, definition, trigger, exclusive, status)
               values ($1, 'j1', 'deploy', '{}', 'user', true, $2)`;
  await pool.query(ins, [p.rows[0]!.id, 'running']);
  await t.rejects(pool.query(ins, [p.rows[0]!.id, 'queued']), { code: '23505' }, 'a second active execution of an exclusive job is refused');
  await pool.query(ins, [p.rows[0]!.id, 'succeeded']);
  t.pass('finished executions do not count');
});
