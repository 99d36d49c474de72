/**
 * Errors stop, never skip (replicator/docs/durability-order.md), and two
 * back-to-back commits with a restart between their acknowledgements: the
 * source must receive exactly the first one's end LSN, not one more
 * (replicator/docs/lsn-handling.md).
 */
import t from 'tap';
import pg from 'pg';
import { isTandemError } from '../../server/errors.js';
import { replicationStatus, runReplicator } from '../../replicator/index.js';
import { checksum, startPair, waitFor } from './helpers.js';

const ddl = `
create schema tandem;
create table tandem.kv (id int primary key, v text);
`;

async function slotConfirmed(p: { src(sql: string): Promise<pg.QueryResult> }, slot: string): Promise<string> {
  return (await p.src(`select confirmed_flush_lsn::text as l from pg_replication_slots where slot_name = '${slot}'`)).rows[0].l;
}

t.test('a change that cannot be applied stops the replicator with table, key and LSN; after the fix it resumes without loss', async (t) => {
  const p = await startPair(t, ddl);
  const opts = { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'err_site' };
  await runReplicator({ ...opts, untilCaughtUp: true });

  // 1. Duplicate key: the target already has id 5.
  await p.dst(`insert into tandem.kv values (5, 'only on the target')`);
  await p.src(`insert into tandem.kv values (1, 'a')`);
  await p.src(`insert into tandem.kv select g, 'b' from generate_series(2, 6) g`);
  const before = await slotConfirmed(p, 'err_site');
  const e1 = await runReplicator({ ...opts, untilCaughtUp: true }).then(() => null, (e: unknown) => e);
  t.ok(isTandemError(e1) && e1.code === 'replication_apply', 'stopped with replication_apply');
  const m1 = (e1 as Error).message;
  t.match(m1, /tandem\.kv/, 'names the table');
  t.match(m1, /\(id\)=\(5\)/, 'names the key');
  t.match(m1, /commit LSN [0-9A-F]+\/[0-9A-F]+/, 'names the LSN');
  t.equal((await p.dst('select count(*)::int as n from tandem.kv where id in (2, 3, 4, 6)')).rows[0].n, 0, 'nothing of the failing transaction is on the target');
  const failedLsn = ((e1 as { details?: { replication?: { commitLsn?: string } } }).details?.replication?.commitLsn)!;
  const held = await p.src(`select confirmed_flush_lsn <= $1::pg_lsn as held, confirmed_flush_lsn >= $2::pg_lsn as not_back from pg_replication_slots where slot_name = 'err_site'`, [failedLsn, before]);
  t.same(held.rows[0], { held: true, not_back: true }, 'the slot was not acknowledged past the failing transaction');
  const st = await replicationStatus({ sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'err_site' });
  t.equal(st.state, 'error', 'status says error');
  t.match(st.lastError?.message, /\(id\)=\(5\)/, 'status carries the error and the change');
  t.equal(st.lastError?.table, 'tandem.kv', 'status names the table');

  // 2. Fix, restart: continues without loss.
  await p.dst(`delete from tandem.kv where id = 5`);
  await runReplicator({ ...opts, untilCaughtUp: true });
  t.same(await checksum(p.dst, 'tandem.kv'), await checksum(p.src, 'tandem.kv'), 'after the fix the target equals the source');

  // 3. Missing row for UPDATE and DELETE.
  await p.dst(`delete from tandem.kv where id = 3`);
  await p.src(`update tandem.kv set v = 'changed' where id = 3`);
  const e2 = await runReplicator({ ...opts, untilCaughtUp: true }).then(() => null, (e: unknown) => e);
  t.match((e2 as Error).message, /update to tandem\.kv key \{"id":"3"\}.*does not exist/, 'missing row for UPDATE names table and key');
  await p.dst(`insert into tandem.kv values (3, 'b')`);
  await p.dst(`delete from tandem.kv where id = 4`);
  await p.src(`delete from tandem.kv where id = 4`);
  const e3 = await runReplicator({ ...opts, untilCaughtUp: true }).then(() => null, (e: unknown) => e);
  t.match((e3 as Error).message, /delete to tandem\.kv key \{"id":"4"\}.*does not exist/, 'missing row for DELETE names table and key');
  await p.dst(`insert into tandem.kv values (4, 'b')`);

  // 4. Type error: the target column is narrower.
  await p.dst(`alter table tandem.kv alter column v type varchar(3)`);
  await p.src(`insert into tandem.kv values (7, 'much too long')`);
  const e4 = await runReplicator({ ...opts, untilCaughtUp: true }).then(() => null, (e: unknown) => e);
  t.match((e4 as Error).message, /tandem\.kv.*too long/, 'type error stops with the table');
  await p.dst(`alter table tandem.kv alter column v type text`);
  await runReplicator({ ...opts, untilCaughtUp: true });
  t.same(await checksum(p.dst, 'tandem.kv'), await checksum(p.src, 'tandem.kv'), 'every change arrived once the causes were fixed');

  // 5. A duplicate deep inside a streaming COPY (several pieces, two source transactions in one COPY):
  // PostgreSQL's "line N" names the second transaction, its detail the key; nothing of either is applied.
  await p.dst(`insert into tandem.kv values (8500, 'only on the target')`);
  await p.src(`insert into tandem.kv select g, 'bulk' from generate_series(1000, 6999) g`);
  const afterFirst = (await p.src('select pg_current_wal_lsn()::text as l')).rows[0].l as string;
  await p.src(`insert into tandem.kv select g, 'bulk' from generate_series(7000, 9999) g`);
  const afterSecond = (await p.src('select pg_current_wal_lsn()::text as l')).rows[0].l as string;
  const e5 = await runReplicator({ ...opts, untilCaughtUp: true }).then(() => null, (e: unknown) => e);
  t.ok(isTandemError(e5) && e5.code === 'replication_apply', 'a failing COPY stops with replication_apply');
  const m5 = (e5 as Error).message;
  t.match(m5, /tandem\.kv/, 'names the table');
  t.match(m5, /\(id\)=\(8500\)/, 'names the key (PostgreSQL detail)');
  t.match(m5, /line 7501 of a COPY/, 'names the line of the COPY');
  const lsn5 = (e5 as { details?: { replication?: { commitLsn?: string } } }).details?.replication?.commitLsn;
  const inSecond = await p.src(`select $1::pg_lsn > $2::pg_lsn and $1::pg_lsn <= $3::pg_lsn as ok`, [lsn5, afterFirst, afterSecond]);
  t.ok(inSecond.rows[0].ok, `the commit LSN named (${lsn5}) is the second transaction's`);
  t.equal((await p.dst(`select count(*)::int as n from tandem.kv where id between 1000 and 9999`)).rows[0].n, 1, 'nothing of either transaction is on the target');
  await p.dst(`delete from tandem.kv where id = 8500`);
  await runReplicator({ ...opts, untilCaughtUp: true });
  t.same(await checksum(p.dst, 'tandem.kv'), await checksum(p.src, 'tandem.kv'), 'after the fix every row of both transactions arrived');
});

t.test('two back-to-back commits, restart between their acknowledgements: the second is not lost', async (t) => {
  const p = await startPair(t, ddl);
  const opts = { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'b2b_site', maxGroupTxns: 1 };
  await runReplicator({ ...opts, untilCaughtUp: true });
  // T2 inserts first but commits right after T1: T2's commit record starts where T1's ends.
  const s1 = new pg.Client({ connectionString: p.sourceUrl });
  const s2 = new pg.Client({ connectionString: p.sourceUrl });
  await s1.connect();
  await s2.connect();
  t.teardown(() => Promise.all([s1.end(), s2.end()]));
  await s2.query('begin');
  await s2.query(`insert into tandem.kv values (2, 'T2')`);
  await s1.query('begin');
  await s1.query(`insert into tandem.kv values (1, 'T1')`);
  await s1.query('commit');
  await s2.query('commit');

  // First run: applies T1, acknowledges it, then fails on T2 (a hook refuses it).
  const lsns: string[] = [];
  const e = await runReplicator({
    ...opts,
    untilCaughtUp: true,
    hooks: [
      {
        table: 'tandem.kv',
        async onRow(_c, change) {
          lsns.push(change.commitLsn);
          if (change.newRow?.id === '2') throw new Error('refusing T2 for the test');
        },
      },
    ],
  }).then(() => null, (err: unknown) => err);
  t.match((e as Error)?.message, /refusing T2/, 'first run stopped on T2');
  const progress = (await p.dst(`select source_end_lsn::text as e from tandem_site.replication_progress where slot_name = 'b2b_site'`)).rows[0].e;
  t.equal(lsns.length, 2, 'saw T1 and T2');
  t.equal(progress, lsns[1], "T1's end LSN (recorded and acknowledged) is exactly where T2's commit record starts");
  await waitFor('slot acknowledged T1', async () => (await slotConfirmed(p, 'b2b_site')) === progress);

  // Restart: T2 must be delivered again and applied.
  await runReplicator({ ...opts, untilCaughtUp: true });
  t.same((await p.dst('select id, v from tandem.kv order by id')).rows, [{ id: 1, v: 'T1' }, { id: 2, v: 'T2' }], 'both transactions on the target');
});
