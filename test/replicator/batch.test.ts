/**
 * Set-based apply (replicator/apply/batch.ts): many small source transactions
 * caught up from a backlog are applied as one statement per table and shape.
 * The changes of one row keep their order (the same key changed again and
 * again, deleted and inserted back, keys moved); values of every kind survive
 * the arrays the statements carry (quotes, backslashes, braces, NULLs,
 * arrays, composites, enums, jsonb, TOASTed values left unchanged); tables
 * where order between rows matters (a second unique constraint, a trigger
 * enabled ALWAYS on the target) are applied in source order; and a missing row
 * in the middle of a batch stops replication naming that row.
 */
import t from 'tap';
import pg from 'pg';
import { isTandemError } from '../../server/errors.js';
import { runReplicator } from '../../replicator/index.js';
import { checksum, startPair, waitFor } from './helpers.js';

const ddl = `
create schema tandem;
create type tandem.mood as enum ('sad', 'ok', 'happy');
create type tandem.pair as (a int, b text);
create table tandem.acct (id bigint primary key, n int not null, note text, tags text[], mood tandem.mood, p tandem.pair,
                          j jsonb, ts timestamptz, amount numeric, nums int[], big text);
create table tandem.comp (a int, b text, v text, primary key (a, b));
create table tandem.users (id int primary key, email text not null unique, name text);
create table tandem.ordered (id int primary key, v int not null);
create table tandem.booking (id int primary key, during int4range not null, exclude using gist (during with &&));
`;
const tables = ['tandem.acct', 'tandem.comp', 'tandem.users', 'tandem.ordered', 'tandem.booking'];

// On the target only: an ALWAYS trigger (it fires for the replicator too) that records the order rows arrive in.
const targetOnly = `
create table tandem.arrivals (seq bigserial primary key, id int, v int);
create function tandem.note_arrival() returns trigger language plpgsql as $$
begin
  insert into tandem.arrivals (id, v) values (new.id, new.v);
  return new;
end $$;
create trigger note_arrival after insert or update on tandem.ordered for each row execute function tandem.note_arrival();
alter table tandem.ordered enable always trigger note_arrival;
`;

const awkward = [`plain`, `with "quotes"`, `back\\slash`, `{braces}, commas`, `NULL`, ``, `tab\tand\nnewline`, `ünïcödé ✓`];

async function each(url: string, fn: (c: pg.Client) => Promise<void>): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.end();
  }
}

t.test('a backlog of small transactions applied set-based equals the source, row order kept per row', async (t) => {
  const p = await startPair(t, ddl);
  await p.dst(targetOnly);
  const opts = { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'batch_site' };
  await runReplicator({ ...opts, untilCaughtUp: true }); // slot and empty initial copy: what follows is a backlog

  await each(p.sourceUrl, async (c) => {
    // Single-row transactions, as an application makes them.
    for (let i = 1; i <= 400; i++)
      await c.query(`insert into tandem.acct values ($1::bigint, 0, $2::text, $3, 'ok', row($1::int, $2::text)::tandem.pair, $4, '2024-01-02 03:04:05.123456+00', $5, $6, $7)`, [
        i,
        awkward[i % awkward.length],
        [awkward[i % awkward.length], null, 'x'],
        JSON.stringify({ i, big: '12345678901234567890', s: awkward[i % awkward.length] }),
        `${i}.000000000000000000001`,
        [i, -i],
        i % 50 === 0 ? 'T'.repeat(100_000) + i : null,
      ]);
    for (let i = 1; i <= 400; i += 3)
      await c.query(`update tandem.acct set n = n + 1, note = $2::text, tags = $3, mood = 'happy', p = row(-($1::int), $2::text)::tandem.pair, j = j || '{"u": true}', nums = null where id = $1::int`, [
        i,
        awkward[(i + 3) % awkward.length],
        ['{', '}', ',', '"', '\\', null],
      ]);
    // Only some columns, leaving the TOASTed value unchanged (a different column shape).
    for (let i = 50; i <= 400; i += 50) await c.query(`update tandem.acct set amount = amount * 2 where id = $1`, [i]);
    // The same row again and again: each change must see the previous one.
    for (let k = 0; k < 60; k++) await c.query(`update tandem.acct set n = n + 1 where id = 7`);
    // Deleted and inserted back, several times, with other rows in between.
    for (let k = 0; k < 10; k++) {
      await c.query(`delete from tandem.acct where id = 8`);
      await c.query(`update tandem.acct set n = n + 1 where id = 9`);
      await c.query(`insert into tandem.acct (id, n, note) values (8, $1, 'back')`, [k]);
    }
    // Keys moved, in a chain (10 → 100010, then 11 → 10: the second needs the first).
    await c.query(`update tandem.acct set id = 100010 where id = 10`);
    await c.query(`update tandem.acct set id = 10 where id = 11`);
    await c.query(`update tandem.acct set id = 11, note = 'moved twice' where id = 100010`);
    for (let i = 200; i < 260; i++) await c.query(`delete from tandem.acct where id = $1`, [i]);

    // Composite keys.
    for (let i = 1; i <= 100; i++) await c.query(`insert into tandem.comp values ($1, $2, 'v')`, [i % 10, `b${i}`]);
    for (let i = 1; i <= 100; i += 2) await c.query(`update tandem.comp set v = $3 where a = $1 and b = $2`, [i % 10, `b${i}`, awkward[i % awkward.length]]);
    for (let i = 2; i <= 100; i += 10) await c.query(`update tandem.comp set b = b || '-moved' where a = $1 and b = $2`, [i % 10, `b${i}`]);
    for (let i = 3; i <= 100; i += 10) await c.query(`delete from tandem.comp where a = $1 and b = $2`, [i % 10, `b${i}`]);

    // A second unique constraint: an address freed by one row and taken by another, in that order.
    for (let i = 1; i <= 30; i++) await c.query(`insert into tandem.users values ($1, $2, 'first')`, [i, `u${i}@example.org`]);
    for (let i = 1; i <= 30; i++) {
      await c.query(`delete from tandem.users where id = $1`, [i]);
      await c.query(`insert into tandem.users values ($1, $2, 'second')`, [i + 1000, `u${i}@example.org`]);
    }

    // An exclusion constraint: a range freed by one row's update and taken by another's, in that order.
    for (let i = 1; i <= 20; i++) await c.query(`insert into tandem.booking values ($1, int4range($2, $2 + 5))`, [i, i * 10]);
    for (let i = 1; i <= 20; i++) {
      await c.query(`update tandem.booking set during = int4range(1000 + $1 * 10, 1000 + $1 * 10 + 5) where id = $1`, [i]);
      await c.query(`update tandem.booking set during = int4range($1 * 10, $1 * 10 + 5) where id = $2`, [i, 21 - i > i ? 21 - i : i]);
    }

    // A table with an ALWAYS trigger on the target: rows arrive in source order.
    for (let i = 1; i <= 40; i++) await c.query(`insert into tandem.ordered values ($1, $2)`, [i % 7, i]).catch(() => c.query(`update tandem.ordered set v = $2 where id = $1`, [i % 7, i]));

    // Bulk transactions: more rows than one group holds, so a group's COPYs start while the previous group commits.
    for (let i = 0; i < 25; i++)
      await c.query(`insert into tandem.acct (id, n, note) select g, g % 7, 'bulk ' || g from generate_series($1::bigint, $1::bigint + 2499) g`, [1_000_000 + i * 2500]);
  });

  // node-pg 8 warns (once per process) when a query is handed over while another waits in its queue; pg 9 fails.
  const warnings: string[] = [];
  const onWarning = (w: Error) => void warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  t.teardown(() => void process.off('warning', onWarning));
  const r = await runReplicator({ ...opts, untilCaughtUp: true });
  t.ok(r.appliedTxns > 900, `caught up with the backlog (${r.appliedTxns} source transactions)`);
  for (const tb of tables) t.same(await checksum(p.dst, tb), await checksum(p.src, tb), `${tb} equal`);
  t.equal((await p.dst(`select n from tandem.acct where id = 7`)).rows[0].n, 61, 'sixty changes of one row, applied in order');
  t.same((await p.dst(`select n, note from tandem.acct where id = 8`)).rows, [{ n: 9, note: 'back' }], 'deleted and inserted back ten times: the last version');
  t.same((await p.dst(`select length(big) as l from tandem.acct where id = 100`)).rows, [{ l: 100_003 }], 'TOASTed value kept by updates that did not touch it');
  const arrivals = (await p.dst(`select v from tandem.arrivals order by seq`)).rows.map((x) => x.v);
  t.same(arrivals, Array.from({ length: 40 }, (_, i) => i + 1), 'the ALWAYS trigger saw the rows in source order');
  await new Promise((r) => setImmediate(r)); // process warnings are emitted on the next tick
  t.same(warnings, [], 'node-pg was handed one operation at a time (no DeprecationWarning)');
});

t.test('a missing row in the middle of a batch stops replication naming that row; after the fix nothing is lost', async (t) => {
  const p = await startPair(t, ddl);
  const opts = { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'batch_err' };
  await p.src(`insert into tandem.acct (id, n) select g, 0 from generate_series(1, 300) g`);
  await runReplicator({ ...opts, untilCaughtUp: true });
  await p.dst(`delete from tandem.acct where id in (150, 290)`);
  await each(p.sourceUrl, async (c) => {
    for (let i = 100; i < 200; i++) await c.query(`update tandem.acct set n = n + 1 where id = $1`, [i]);
  });
  const e = await runReplicator({ ...opts, untilCaughtUp: true }).then(() => null, (err: unknown) => err);
  t.ok(isTandemError(e) && e.code === 'replication_apply', 'stopped with replication_apply');
  t.match((e as Error).message, /update to tandem\.acct key \{"id":"150"\}.*does not exist/, 'names the missing row of the batch');
  t.match((e as Error).message, /commit LSN [0-9A-F]+\/[0-9A-F]+\)/, 'names its source transaction');
  t.equal((await p.dst(`select count(*)::int as n from tandem.acct where id between 151 and 199 and n > 0`)).rows[0].n, 0, 'nothing from the failing transaction on is on the target');

  await p.dst(`insert into tandem.acct (id, n) values (150, 0)`);
  await each(p.sourceUrl, async (c) => {
    for (let i = 280; i < 300; i++) await c.query(`delete from tandem.acct where id = $1`, [i]);
  });
  const e2 = await runReplicator({ ...opts, untilCaughtUp: true }).then(() => null, (err: unknown) => err);
  t.match((e2 as Error).message, /delete to tandem\.acct key \{"id":"290"\}.*does not exist/, 'a batch delete names the missing row too');
  await p.dst(`insert into tandem.acct (id, n) values (290, 0)`);
  await runReplicator({ ...opts, untilCaughtUp: true });
  t.same(await checksum(p.dst, 'tandem.acct'), await checksum(p.src, 'tandem.acct'), 'after the fixes the target equals the source');
});

t.test('set-based updates and deletes find their rows through the key index, not a scan of the table', async (t) => {
  const p = await startPair(
    t,
    `create schema tandem;
     create table tandem.big (id int primary key, n int not null) with (autovacuum_enabled = false);
     create table tandem.loose (id int primary key, n int not null) with (autovacuum_enabled = false);`,
  );
  // On the target, tandem.loose has no unique index: its batches are still set-based, the planner's join left alone.
  await p.dst(`alter table tandem.loose drop constraint loose_pkey`);
  await p.src(`insert into tandem.big select g, 0 from generate_series(1, 50000) g`);
  await p.src(`insert into tandem.loose select g, 0 from generate_series(1, 5000) g`);
  const opts = { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'batch_plan' };
  await runReplicator({ ...opts, untilCaughtUp: true });
  // A session's table statistics reach pg_stat_user_tables when it ends: wait for the replicator's to end.
  const replicatorGone = () => waitFor('the replicator sessions on the target to end', async () => (await p.dst(`select count(*)::int as n from pg_stat_activity where datname = 'app' and application_name like 'tandem%'`)).rows[0].n === 0);
  const scans = async () =>
    Object.fromEntries((await p.dst(`select relname, seq_scan::int as seq, coalesce(idx_scan, 0)::int as idx from pg_stat_user_tables where schemaname = 'tandem'`)).rows.map((r) => [r.relname, r]));
  await replicatorGone();
  // With statistics, the planner prefers a hash join over the whole table for batches of hundreds of rows.
  await p.dst(`analyze tandem.big; analyze tandem.loose`);
  const before = await scans();
  // A backlog of single-row transactions: grouped, each table's updates and deletes become one statement per group.
  await each(p.sourceUrl, async (c) => {
    for (let i = 1; i <= 600; i++) {
      await c.query(`update tandem.big set n = n + 1 where id = $1`, [i * 50]);
      await c.query(`delete from tandem.big where id = $1`, [i * 50 + 1]);
      await c.query(`update tandem.loose set n = n + 1 where id = $1`, [i * 10]);
    }
  });
  await runReplicator({ ...opts, untilCaughtUp: true });
  await replicatorGone();
  const after = await scans();
  t.equal(after.big.seq - before.big.seq, 0, 'the 50,000-row table was never scanned');
  t.ok(after.big.idx - before.big.idx >= 1200, `its rows were found through its key index (${after.big.idx - before.big.idx} probes)`);
  t.same(await checksum(p.dst, 'tandem.big'), await checksum(p.src, 'tandem.big'), 'the indexed table equals the source');
  t.same(await checksum(p.dst, 'tandem.loose'), await checksum(p.src, 'tandem.loose'), 'the table without a key index on the target equals the source');
});
