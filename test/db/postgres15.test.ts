/**
 * PostgreSQL 15, as Debian ships it, is the oldest supported server: every
 * migration applies, the job server runs a job and serves its log, and the
 * replicator copies and streams from one PostgreSQL 15 cluster to another,
 * including identity-always and stored generated columns (whose publication
 * differs between majors). Uses Debian's binaries from
 * /usr/lib/postgresql/15/bin (`apt-get install postgresql-15`); when they are
 * absent the test says so and skips.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import { runReplicator } from '../../replicator/index.js';
import { migrate } from '../../server/db/migrate.js';
import { startPostgres } from '../harness/postgres.js';
import { readOutput, startTestServer, waitForEnd, yamlHeaders } from '../server/helpers.js';
import { checksum } from '../replicator/helpers.js';

const BIN = '/usr/lib/postgresql/15/bin';

const extra = `
create schema extra;
create table extra.ident_always (id bigint generated always as identity primary key, v text);
create table extra.gen_stored (id int primary key, a int not null, total int generated always as (a * 2) stored);
`;

t.test('PostgreSQL 15: migrations, a job run, and replication', { skip: existsSync(`${BIN}/postgres`) ? false : `no PostgreSQL 15 binaries in ${BIN} (Debian package postgresql-15)` }, async (t) => {
  const [source, target] = await Promise.all([startPostgres(t, { name: 'pg15-a', binDir: BIN }), startPostgres(t, { name: 'pg15-b', binDir: BIN })]);
  t.equal(source.major, 15, 'Debian PostgreSQL 15');

  // The job server on 15: migrations at start, a job imported, run, and its log read back.
  const ts = await startTestServer(t, source, { dbUrl: await source.createDatabase('tandem') });
  t.equal((await ts.api('POST', '/api/v1/projects', { name: 'ops' })).status, 201);
  const imported = await ts.api('POST', '/api/v1/projects/ops/jobs', `- name: hello\n  sequence:\n    commands:\n    - exec: echo hello from fifteen\n`, yamlHeaders());
  t.equal(imported.status, 201, 'job imported');
  const run = await ts.api('POST', `/api/v1/jobs/${imported.body.jobs[0].id}/run`, {});
  t.equal(run.status, 201);
  t.equal((await waitForEnd(ts, run.body.id)).status, 'succeeded', 'the job ran');
  t.ok((await readOutput(ts, run.body.id)).some((e) => e.text === 'hello from fifteen'), 'its log is served');

  // Replication 15 → 15: schema tandem as the job server wrote it, plus identity and generated columns.
  const targetUrl = await target.createDatabase('tandem');
  await migrate(targetUrl);
  await source.query(extra, [], 'tandem');
  await target.query(extra, [], 'tandem');
  await source.query(`insert into extra.ident_always (v) select 'pre ' || g from generate_series(1, 20) g`, [], 'tandem');
  await source.query(`insert into extra.gen_stored (id, a) select g, g from generate_series(1, 20) g`, [], 'tandem');
  const first = await runReplicator({ sourceUrl: ts.dbUrl, targetUrl, schemas: ['tandem', 'extra'], untilCaughtUp: true });
  t.equal(first.reason, 'caught_up', 'initial copy done');

  // Streamed changes after the copy.
  await source.query(`insert into extra.ident_always (v) values ('streamed')`, [], 'tandem');
  await source.query(`update extra.gen_stored set a = a + 100 where id <= 5`, [], 'tandem');
  await source.query(`delete from extra.ident_always where id = 3`, [], 'tandem');
  t.equal((await ts.api('POST', '/api/v1/projects', { name: 'after-copy' })).status, 201);
  const second = await runReplicator({ sourceUrl: ts.dbUrl, targetUrl, schemas: ['tandem', 'extra'], untilCaughtUp: true });
  t.equal(second.reason, 'caught_up', 'streamed changes applied');

  const src = (sql: string) => source.query(sql, [], 'tandem');
  const dst = (sql: string) => target.query(sql, [], 'tandem');
  for (const table of ['tandem.projects', 'tandem.jobs', 'tandem.executions', 'tandem.step_results', 'tandem.log_objects', 'extra.ident_always', 'extra.gen_stored']) {
    const [a, b] = [await checksum(src, table), await checksum(dst, table)];
    t.same(b, a, `${table}: equal on both clusters (${a.rows} rows)`);
  }
});
