/**
 * All change kinds pgoutput sends: INSERT, UPDATE (also of key columns),
 * DELETE, TRUNCATE with CASCADE, REPLICA IDENTITY FULL with duplicate rows,
 * composite keys, partitioned tables; and transactions stay atomic for a
 * reader on the target (replicator/docs/durability-order.md).
 */
import t from 'tap';
import pg from 'pg';
import { background, checksum, startPair, waitFor } from './helpers.js';

const ddl = `
create schema tandem;
create schema extra;
create table tandem.kv (id int primary key, v text);
create table tandem.comp (a int, b text, c date, v text, primary key (a, b, c));
create table tandem.nokey (x int, y text);
alter table tandem.nokey replica identity full;
create table tandem.parent (id int primary key);
create table tandem.child (id int primary key, parent int references tandem.parent (id));
create table tandem.measure (id int, at date, v numeric, primary key (id, at)) partition by range (at);
create table tandem.measure_2024 partition of tandem.measure for values from ('2024-01-01') to ('2025-01-01');
create table tandem.measure_2025 partition of tandem.measure for values from ('2025-01-01') to ('2026-01-01');
create table extra.other (id int primary key, v text);
create table tandem.bank (id int primary key, balance int not null);
`;

const tables = ['tandem.kv', 'tandem.comp', 'tandem.nokey', 'tandem.parent', 'tandem.child', 'tandem.measure', 'extra.other', 'tandem.bank'];

t.test('every change kind is applied', async (t) => {
  const p = await startPair(t, ddl);
  await p.src(`insert into tandem.measure values (1, '2024-05-01', 1.5), (2, '2025-05-01', 2.5)`);
  await p.src(`insert into tandem.bank select g, 100 from generate_series(1, 10) g`);
  const { ac, done: running } = background(t, { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, schemas: ['tandem', 'extra'] });

  await p.src(`insert into tandem.kv select g, 'v' || g from generate_series(1, 100) g`);
  await p.src(`update tandem.kv set id = id + 1000 where id <= 10`); // key change
  await p.src(`update tandem.kv set v = 'changed' where id between 11 and 20`);
  await p.src(`delete from tandem.kv where id between 21 and 30`);
  await p.src(`insert into tandem.comp values (1, 'x', '2024-01-01', 'a'), (1, 'y', '2024-01-01', 'b'), (2, 'x', '2024-01-02', 'c')`);
  await p.src(`update tandem.comp set b = 'z', v = 'moved' where a = 1 and b = 'x'`);
  await p.src(`delete from tandem.comp where a = 2`);
  await p.src(`insert into tandem.nokey values (1, 'dup'), (1, 'dup'), (1, 'dup'), (2, null)`);
  await p.src(`update tandem.nokey set y = 'one changed' where ctid = (select ctid from tandem.nokey where y = 'dup' limit 1)`);
  await p.src(`delete from tandem.nokey where ctid = (select ctid from tandem.nokey where y = 'dup' limit 1)`);
  await p.src(`update tandem.nokey set y = 'was null' where y is null`);
  await p.src(`insert into tandem.parent select generate_series(1, 5); insert into tandem.child select g, g from generate_series(1, 5) g`);
  await p.src(`insert into tandem.measure values (3, '2024-07-01', 3.5), (4, '2025-07-01', 4.5)`);
  await p.src(`update tandem.measure set at = '2025-03-01' where id = 1`); // moves between partitions
  await p.src(`update tandem.measure set v = v * 2 where id = 2`);
  await p.src(`delete from tandem.measure where id = 3`);
  await p.src(`insert into extra.other values (1, 'other schema')`);
  for (const tb of tables)
    await waitFor(`${tb} replicated`, async () => (await checksum(p.dst, tb)).md5 === (await checksum(p.src, tb)).md5);
  for (const tb of tables) t.same(await checksum(p.dst, tb), await checksum(p.src, tb), `${tb} equal`);
  t.equal((await p.dst(`select count(*)::int as n from tandem.nokey where y = 'dup'`)).rows[0].n, 1, 'FULL identity: exactly one of the duplicate rows changed, one deleted');

  await p.src(`truncate tandem.parent cascade`);
  await waitFor('truncate cascade replicated', async () => (await p.dst('select (select count(*) from tandem.parent) + (select count(*) from tandem.child) as n')).rows[0].n === '0');
  t.pass('TRUNCATE ... CASCADE emptied parent and child on the target');
  await p.src(`truncate tandem.kv`);
  await waitFor('truncate replicated', async () => (await checksum(p.dst, 'tandem.kv')).rows === 0);
  t.pass('TRUNCATE replicated');

  // Atomicity: transfers keep the total at 1000; a reader on the target must never see another total.
  const reader = new pg.Client({ connectionString: p.targetUrl });
  await reader.connect();
  t.teardown(() => reader.end());
  let stop = false;
  const totals = new Set<number>();
  let reads = 0;
  const readLoop = (async () => {
    while (!stop) {
      totals.add(Number((await reader.query('select sum(balance) as s from tandem.bank')).rows[0].s));
      reads++;
    }
  })();
  const src = new pg.Client({ connectionString: p.sourceUrl });
  await src.connect();
  t.teardown(() => src.end());
  for (let i = 0; i < 300; i++) {
    const a = (i % 10) + 1;
    const b = ((i * 7) % 10) + 1;
    await src.query('begin');
    await src.query('update tandem.bank set balance = balance - 5 where id = $1', [a]);
    await src.query('update tandem.bank set balance = balance + 5 where id = $1', [b]);
    await src.query('commit');
  }
  // A large transaction: 120,000 rows (more than the stream's queue and the COPY batch) arrive all at once.
  await p.src(`insert into tandem.kv select g, repeat('x', 50) from generate_series(1, 120000) g`);
  const counts = new Set<number>();
  await waitFor('bank replicated', async () => (await checksum(p.dst, 'tandem.bank')).md5 === (await checksum(p.src, 'tandem.bank')).md5);
  await waitFor('big transaction replicated', async () => {
    const n = Number((await reader.query('select count(*) as n from tandem.kv')).rows[0].n);
    counts.add(n);
    return n === 120000;
  }, 120_000);
  stop = true;
  await readLoop;
  t.same([...totals], [1000], `a reader on the target saw only whole transactions (${reads} reads)`);
  t.ok([...counts].every((n) => n === 0 || n === 120000), 'the 120,000-row transaction appeared all at once');

  // The target records each group's last source commit time (pgoutput's microseconds since 2000, read as a number):
  // a transaction that stamps clock_timestamp() just before its commit is recorded within a second after the stamp.
  await p.src(`insert into extra.other values (2, clock_timestamp()::text)`);
  const stamped = (await p.src(`select v from extra.other where id = 2`)).rows[0].v as string;
  await waitFor('the stamped row replicated', async () => (await p.dst(`select 1 from extra.other where id = 2`)).rowCount === 1);
  const at = await waitFor('its commit time recorded', async () => {
    const r = await p.dst(
      `select extract(epoch from source_commit_time - $1::timestamptz)::float8 as after from tandem_site.replication_progress`,
      [stamped],
    );
    return r.rows[0].after >= 0 ? (r.rows[0] as { after: number }) : undefined;
  });
  t.ok(at.after < 1, `the commit time is ${at.after} s after the stamp taken inside the transaction`);
  ac.abort();
  await running;
});
