/**
 * withTransaction against sessions the server ends under it (what a role
 * change does to the job servers' pools): a session ended before commit is
 * retried whole on a fresh connection and the change lands once; a session
 * ended during commit is reported as "outcome unknown", not as success.
 */
import t from 'tap';
import pg from 'pg';
import { spawnSync } from 'node:child_process';
import { startPostgres } from '../harness/postgres.js';
import { waitFor } from '../harness/wait.js';
import type { Teardown } from '../harness/tmp.js';
import { withTransaction, CommitOutcomeUnknown } from '../../server/db/tx.js';
import { isReadOnlyStatement, retryDeadConnections } from '../../server/db/retrying-pool.js';

/** A fresh cluster and database with the `probe` table `ddl` creates, and an admin session on it. */
async function probeDatabase(t: Teardown, name: string, ddl: string): Promise<{ url: string; admin: pg.Client }> {
  const server = await startPostgres(t, { name });
  const url = await server.createDatabase(name.replace(/-/g, '_') + '_test');
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  t.teardown(() => admin.end());
  await admin.query(ddl);
  return { url, admin };
}

t.test('transactions and single queries survive sessions ended by the server', async (t) => {
  const { url, admin } = await probeDatabase(t, 'tx', `create table probe (id int primary key, note text)`);

  const pool = retryDeadConnections(new pg.Pool({ connectionString: url, max: 2, application_name: 'tx-test' }));
  pool.on('error', () => undefined); // idle clients ended by the server
  t.teardown(() => pool.end());

  const pidOf = async (c: pg.ClientBase) => (await c.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  const terminate = async (pid: number) => {
    await admin.query('select pg_terminate_backend($1)', [pid]);
    // Wait until the backend is really gone, so the next statement on it fails rather than races.
    await waitFor(`backend ${pid} to be gone`, async () => (await admin.query('select 1 from pg_stat_activity where pid = $1', [pid])).rows.length === 0, 30_000, 10);
  };

  // Ended in the middle of the transaction: run again whole, and the row lands once.
  let attempts = 0;
  const result = await withTransaction(pool, async (c) => {
    attempts++;
    await c.query(`insert into probe values (1, 'attempt ' || $1::text)`, [attempts]);
    if (attempts === 1) await terminate(await pidOf(c));
    await c.query(`update probe set note = note || ' done' where id = 1`);
    return attempts;
  });
  t.equal(result, 2, 'the transaction ran a second time');
  t.same((await admin.query('select id, note from probe')).rows, [{ id: 1, note: 'attempt 2 done' }], 'only the second attempt is committed');

  // An idle pooled session ended by the server: the next single query gets a fresh one.
  const idle = await pool.connect();
  const idlePid = await pidOf(idle);
  idle.release();
  await terminate(idlePid);
  const again = await pool.query<{ pid: number }>('select pg_backend_pid() as pid');
  t.not(again.rows[0]!.pid, idlePid, 'pool.query answered on a fresh session');

  // Statement errors are not retried.
  let calls = 0;
  await t.rejects(
    withTransaction(pool, async (c) => {
      calls++;
      await c.query(`insert into probe values (1, 'duplicate')`);
    }),
    { code: '23505' },
  );
  t.equal(calls, 1, 'a failing statement runs once');

  // Ended during commit (a deferred constraint trigger keeps the commit busy): outcome unknown, said so.
  await admin.query(`
    create function slow_commit() returns trigger language plpgsql as $$ begin perform pg_sleep(30); return null; end $$;
    create constraint trigger slow_commit after insert on probe deferrable initially deferred for each row execute function slow_commit();`);
  let commitPid = 0;
  const committing = withTransaction(pool, async (c) => {
    commitPid = await pidOf(c);
    await c.query(`insert into probe values (2, 'slow')`);
  });
  const outcome = committing.then(() => 'committed', (e: unknown) => e);
  await waitFor(
    'the transaction to be busy in its commit',
    async () => commitPid !== 0 && (await admin.query(`select 1 from pg_stat_activity where pid = $1 and query = 'commit' and state = 'active'`, [commitPid])).rows.length > 0,
    30_000,
    20,
  );
  await terminate(commitPid);
  const e = await outcome;
  t.ok(e instanceof CommitOutcomeUnknown, 'lost during commit: CommitOutcomeUnknown');
  t.match(e, { code: 'outcome_unknown', status: 500, message: /may or may not have been applied/ });
  t.same((await admin.query('select count(*)::int as n from probe where id = 2')).rows, [{ n: 0 }], 'and it was not retried behind the caller\'s back');
});

/** Ends every `tx-burst` session and waits until they are gone (run with `node -e`, the URL as argument). */
const endSessions = `
const pg = require('pg');
(async () => {
  const c = new pg.Client({ connectionString: process.argv[1] });
  await c.connect();
  await c.query("select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'tx-burst'");
  // A condition poll (not a guess): this script runs in plain node, without the harness's waitFor.
  while ((await c.query("select 1 from pg_stat_activity where application_name = 'tx-burst'")).rows.length) await new Promise((r) => setTimeout(r, 5));
  await c.end();
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

t.test('every idle session of a pool ended at once (a role change): a burst of queries and transactions all succeed', async (t) => {
  const { url, admin } = await probeDatabase(t, 'tx-burst', `create table probe (id int primary key)`);

  const size = 8;
  const pool = retryDeadConnections(new pg.Pool({ connectionString: url, max: size, application_name: 'tx-burst' }));
  pool.on('error', () => undefined); // idle clients ended by the server
  t.teardown(() => pool.end());

  let id = 0;
  for (let round = 1; round <= 5; round++) {
    // Fill the pool with `size` idle sessions.
    const clients = await Promise.all(Array.from({ length: size }, () => pool.connect()));
    for (const c of clients) c.release();
    t.equal(pool.idleCount, size, `round ${round}: ${size} idle sessions`);
    // End them all from another process while this one is blocked (spawnSync), so that the pool has not
    // read a single goodbye yet when the requests below draw its sessions: every idle one is dead.
    const ended = spawnSync(process.execPath, ['-e', endSessions, url], { encoding: 'utf8', timeout: 20_000 });
    t.equal(ended.status, 0, `round ${round}: sessions ended by another process ${ended.stderr}`);
    // One request at a time first (each may draw one dead session after another), then a burst.
    const one = (i: number) =>
      i % 2 === 0
        ? pool.query('select 1 as one')
        : withTransaction(pool, async (c) => {
            await c.query('insert into probe values ($1)', [++id]);
          });
    const burst: PromiseSettledResult<unknown>[] = [];
    burst.push(...(await Promise.allSettled([one(round)])));
    burst.push(...(await Promise.allSettled(Array.from({ length: size }, (_, i) => one(i)))));
    const failed = burst.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    t.same(failed, [], `round ${round}: all ${size + 1} succeeded`);
  }
  t.same((await admin.query('select count(*)::int as n from probe')).rows, [{ n: id }], 'every transaction committed exactly once');
});

t.test('a database that is down is not waited for: the failure is reported at once, so that the site monitor sees it', async (t) => {
  const server = await startPostgres(t, { name: 'tx-down' });
  const url = await server.createDatabase('tx_down');
  const pool = retryDeadConnections(new pg.Pool({ connectionString: url, max: 2, application_name: 'tx-down' }));
  pool.on('error', () => undefined); // idle clients ended by the server
  t.teardown(() => pool.end());
  t.same((await pool.query('select 1 as one')).rows, [{ one: 1 }], 'up: answered');

  await server.stop('immediate');
  // Deliberate delay, not a wait for a condition: bring the database back
  // shortly after the queries below start, so that a retry that waited for the
  // database (the defect this guards against) would succeed and be caught by
  // the assertions below. There is no event to wait on: what is tested is that
  // the queries do not wait.
  const restartAfterMs = 300;
  const back = new Promise<void>((resolve, reject) => setTimeout(() => server.start().then(resolve, reject), restartAfterMs));
  const single = await pool.query('select 1 as one').then(() => 'answered', (e: Error & { code?: string }) => e.code ?? e.message);
  const inTx = await withTransaction(pool, (c) => c.query('select 1')).then(() => 'answered', (e: Error & { code?: string }) => e.code ?? e.message);
  t.not(single, 'answered', `down: a single query fails (${single}) instead of waiting for the restart`);
  t.not(inTx, 'answered', `down: a transaction fails (${inTx}) instead of waiting for the restart`);
  await back;
  t.same((await pool.query('select 1 as one')).rows, [{ one: 1 }], 'back up: answered again');
});

t.test('pool.query retries a write only when it surely did not commit (server/db/retrying-pool.ts)', async (t) => {
  // Commits wait for a synchronous standby that never comes (synchronous_standby_names), but only in
  // sessions that ask for it (synchronous_commit = on; everything else is local): such a commit is
  // done locally and then waits, and ending its session then is "committed, connection lost".
  const { url, admin } = await probeDatabase(t, 'tx-write', `create table events (note text)`);
  await admin.query(`alter system set synchronous_commit = local`);
  await admin.query(`alter system set synchronous_standby_names = 'tandem_test_nobody'`);
  await admin.query(`select pg_reload_conf()`);
  const probe = new pg.Client({ connectionString: url });
  await probe.connect();
  t.teardown(() => probe.end());
  // The reload reaches a backend at its next statement: a session shows the new settings.
  await waitFor(
    'synchronous_standby_names to be reloaded',
    async () => (await probe.query(`show synchronous_standby_names`)).rows[0].synchronous_standby_names === 'tandem_test_nobody',
    30_000,
    20,
  );
  const terminate = async (pid: number) => {
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await waitFor(`backend ${pid} to be gone`, async () => (await admin.query('select 1 from pg_stat_activity where pid = $1', [pid])).rows.length === 0, 30_000, 10);
  };
  const count = async () => (await admin.query<{ n: number }>('select count(*)::int as n from events')).rows[0]!.n;

  // 1. Committed, then the session ended before the answer: outcome_unknown, and the row is there once.
  const syncPool = retryDeadConnections(new pg.Pool({ connectionString: url, max: 1, application_name: 'tx-write-sync', options: '-c synchronous_commit=on' }));
  syncPool.on('error', () => undefined);
  t.teardown(() => syncPool.end());
  const answer = syncPool.query(`insert into events values ('committed, then lost')`).then(() => 'answered', (e: unknown) => e);
  const pid: number = await waitFor(
    'the insert to wait for the synchronous standby (SyncRep)',
    async () => (await admin.query(`select pid from pg_stat_activity where application_name = 'tx-write-sync' and wait_event = 'SyncRep'`)).rows[0]?.pid as number | undefined,
    30_000,
    20,
  );
  t.equal(await count(), 0, 'waiting for the standby: committed in the WAL, not yet visible');
  await terminate(pid);
  const e = await answer;
  t.ok(e instanceof CommitOutcomeUnknown, 'the caller is told the outcome is unknown');
  t.match(e, { code: 'outcome_unknown', status: 500 });
  t.equal(await count(), 1, 'the insert did commit, and it was not run a second time');

  // 2. A pooled session ended while idle (what a failover does): the write runs on a fresh session, once.
  const pool = retryDeadConnections(new pg.Pool({ connectionString: url, max: 1, application_name: 'tx-write' }));
  pool.on('error', () => undefined);
  t.teardown(() => pool.end());
  const idle = await pool.connect();
  const idlePid = (await idle.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  idle.release();
  await terminate(idlePid);
  const r = await pool.query({ name: 'probe.insertEvent', text: `insert into events values ($1) returning note`, values: ['after the failover'] });
  t.same(r.rows, [{ note: 'after the failover' }], 'the write answered on a fresh session');
  t.equal(await count(), 2, 'and landed once');

  // 3. A read on a session ended while idle: asked again as it is.
  const idle2 = await pool.connect();
  const idle2Pid = (await idle2.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  idle2.release();
  await terminate(idle2Pid);
  t.same((await pool.query('select count(*)::int as n from events')).rows, [{ n: 2 }], 'the read answered on a fresh session');

  await admin.query(`alter system reset synchronous_standby_names`);
  await admin.query(`alter system reset synchronous_commit`);
  await admin.query(`select pg_reload_conf()`);
});

t.test('which statements count as read-only (retried as they are)', async (t) => {
  for (const s of ['select 1', '  SELECT * from t where x = $1', "with a as (select 1) select * from a", 'values (1)', 'show server_version', "select 'insert into x' as text", 'select * from t for share'])
    t.ok(isReadOnlyStatement(s), `read-only: ${s}`);
  for (const s of ['insert into t values (1)', 'update t set x = 1', 'delete from t', 'with d as (delete from t returning *) select * from d', 'select * from t for update', "select nextval('s')", 'begin', 'alter database x set y = 1', '/* select */ insert into t values (1)'])
    t.notOk(isReadOnlyStatement(s), `a write (run in a transaction): ${s}`);
});
