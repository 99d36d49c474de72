/**
 * The source going away during an initial copy (replicator/docs/initial-copy.md;
 * `make bench` once crashed with an unhandled 'error' event of the copy's
 * source connection):
 * the copy ends with an error, the replicator retries it from a new snapshot,
 * and once the source is back it finishes and streams. The replicator runs
 * in this test's process, so an unhandled 'error' event fails the test.
 *
 * The copy is held at a known point without sleeping: a target session holds
 * a lock on one table, so the copy waits in its TRUNCATE on the target while
 * its source session sits idle inside the exported snapshot; the test kills
 * that source session there (the moment the benchmark's crash happened).
 */
import t from 'tap';
import pg from 'pg';
import { createLogger } from '../../server/log.js';
import { background, checksum, startPair, waitFor } from './helpers.js';

const ddl = `
create schema tandem;
create table tandem.a (id int primary key, v text);
create table tandem.b (id int primary key, v text);
`;

t.test('source session killed, then the source restarted, during the initial copy: the replicator retries and finishes', async (t) => {
  const p = await startPair(t, ddl);
  await p.src(`insert into tandem.a select g, 'a' || g from generate_series(1, 1000) g`);
  await p.src(`insert into tandem.b select g, 'b' || g from generate_series(1, 1000) g`);

  const locker = new pg.Client({ connectionString: p.targetUrl });
  await locker.connect();
  t.teardown(() => locker.end().catch(() => undefined));
  await locker.query('begin');
  await locker.query('lock table tandem.b in access share mode');

  const lines: string[] = [];
  const log = createLogger({}, { level: 'info', format: 'json', write: (line) => { lines.push(line); if (process.env.DBG) process.stderr.write(line + '\n'); } });
  const repl = background(t, { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'copy_fault', retryDelayMs: 100, log });

  // The copy waits on the target; its source session is idle in the snapshot's transaction.
  let pid: number | null = null;
  await waitFor('the copy waiting on the target lock', async () => {
    repl.check();
    const waiting = await p.dst(`select 1 from pg_stat_activity where application_name = 'tandem-replicator' and wait_event_type = 'Lock' and query ilike 'truncate%'`);
    const copy = await p.src(`select pid from pg_stat_activity where application_name = 'tandem-replicator-copy' and state = 'idle in transaction'`);
    pid = copy.rows[0]?.pid ?? null;
    return waiting.rowCount === 1 && pid !== null;
  });
  // 1. Its source session is terminated: node-pg emits 'error' on that idle client.
  await p.src('select pg_terminate_backend($1)', [pid]);
  await waitFor('the copy session gone', async () => (await p.src(`select 1 from pg_stat_activity where pid = $1`, [pid])).rowCount === 0);
  // 2. The whole source goes away (immediate shutdown, like a crash) and comes back.
  await p.source.stop('immediate');
  await p.source.start();
  // 3. The copy may go on: it fails on its dead source session, and is retried from a new snapshot.
  await locker.query('commit');
  await waitFor('target equals source', async () => {
    repl.check();
    for (const tb of ['tandem.a', 'tandem.b']) if ((await checksum(p.dst, tb)).md5 !== (await checksum(p.src, tb)).md5) return false;
    return true;
  });
  t.same(await checksum(p.dst, 'tandem.b'), await checksum(p.src, 'tandem.b'), 'the copy finished after the source returned: tandem.b equal');
  t.ok(lines.some((l) => /source connection of the initial copy failed/.test(l)), 'the lost source session was reported, not thrown', { lines });
  t.ok(lines.some((l) => /reconnecting/.test(l)), 'the failed copy was retried', { lines });

  await p.src(`insert into tandem.a values (5000, 'streamed')`);
  await waitFor('a streamed row', async () => {
    repl.check();
    return (await p.dst(`select count(*)::int as n from tandem.a where id = 5000`)).rows[0].n === 1;
  });
  t.pass('the same replicator streams after the faults');
  repl.ac.abort();
  t.equal((await repl.done).reason, 'aborted', 'it stopped only when asked');
});
