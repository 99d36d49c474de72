/**
 * Values round-trip exactly (replicator/docs/stream-client.md: values stay the
 * text PostgreSQL sent) through both paths (initial
 * COPY and the stream: COPY runs and single-row INSERTs), and updates that
 * leave a TOASTed column unchanged keep it.
 */
import t from 'tap';
import { background, checksum, startPair, waitFor } from './helpers.js';

const ddl = `
create extension citext;
create extension hstore;
create schema tandem;
create type tandem.mood as enum ('sad', 'ok', 'très content');
create type tandem.pt as (x int, label text);
create domain tandem.posint as int check (value > 0);
create table tandem.vals (
  id int primary key,
  ts timestamp, tstz timestamptz, num numeric, big int8, j json, jb jsonb, b bytea,
  arr int[], tarr text[], mood tandem.mood, comp tandem.pt, rng int4range, tsr tstzrange,
  dom tandem.posint, ci citext, hs hstore, txt text, big_txt text, f8 float8, f4 real,
  iv interval, u uuid, d date, tm time
);
create table tandem.full_vals (j json, big_txt text, n int) ;
alter table tandem.full_vals replica identity full;
`;

// 1 MB of incompressible text: stored out of line (TOAST).
const bigText = `(select string_agg(md5(g::text), '') from generate_series(1, 32768) g)`;

function rowsSql(base: number): string {
  return `
insert into tandem.vals values
 (${base + 1}, '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456+00', 12345678901234567890.123456789012345678901234567890,
  9223372036854775807, '{"a": 1,  "a": 2, "n": 12345678901234567890}', '{"n": 12345678901234567890, "f": 1.000000000000000000001}',
  '\\x00ff10270a5c', '{1,NULL,3}', '{"a,b","c\\"d",NULL,"tab\\there"}', 'très content', row(7, 'q"u,o(te)'),
  '[1,10)', '["2024-01-01 00:00:00.000001+00","2024-02-01 00:00:00+00")', 42, 'MiXeD Case', 'a=>1, "b c"=>NULL',
  E'Grüße 日本 🎉 tab\\there\\nnewline back\\\\slash ''quote''', ${bigText}, 0.1, 3.4028235e38,
  '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29', '23:59:59.999999'),
 (${base + 2}, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null),
 (${base + 3}, '0001-01-01 00:00:00', '1970-01-01 00:00:00+00', 'NaN', -9223372036854775808, '[]', '[]', '\\x', '{}', '{}', 'sad', row(null, null),
  'empty', '(,)', 1, '', '', '', '', 'NaN', '-Infinity', '-1 days -00:00:00.000001', '00000000-0000-0000-0000-000000000000', 'infinity', '00:00:00'),
 (${base + 4}, '2024-06-30 23:59:59.999999', '2024-06-30 12:00:00.5-07:30', 0.000000000000000000000000000001, 1, '1e400', '1e400', '\\xdeadbeef',
  '{{1,2},{3,4}}', '{"\\\\"}', 'ok', row(-1, ''), '(,5]', null, 2147483647, 'x', '"k"=>"v=>w"', 'x', null, 1e308, 1e-45,
  '0', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '1999-12-31', '12:00:00.000001');
insert into tandem.full_vals values ('{"x":  [1, 2]}', ${bigText}, ${base + 1}), ('{"x":  [1, 2]}', ${bigText}, ${base + 1}), ('null', 'short', ${base + 2});
`;
}

t.test('every listed type round-trips exactly, through the copy and the stream', async (t) => {
  const p = await startPair(t, ddl);
  await p.src(rowsSql(0)); // copied by the initial copy
  const { ac, done: running } = background(t, { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl });
  await p.src(rowsSql(100)); // streamed: a run of 4 rows goes through COPY
  await p.src(`insert into tandem.vals select id + 1000, ts, tstz, num, big, j, jb, b, arr, tarr, mood, comp, rng, tsr, dom, ci, hs, txt, big_txt, f8, f4, iv, u, d, tm from tandem.vals where id in (1, 2)`); // 2 rows: single INSERTs
  // Updates that leave the TOASTed column unchanged (and one that changes it).
  await p.src(`update tandem.vals set num = num + 1, txt = txt || '!' where id in (1, 101, 1001)`);
  await p.src(`update tandem.vals set big_txt = big_txt || 'x' where id = 4`);
  await p.src(`update tandem.full_vals set n = n + 10 where n = 101`); // FULL identity, json without equality, TOAST
  await p.src(`delete from tandem.full_vals where n = 102`);
  const want = await checksum(p.src, 'tandem.vals');
  await waitFor('vals replicated', async () => (await checksum(p.dst, 'tandem.vals')).md5 === want.md5);
  await waitFor('full_vals replicated', async () => (await checksum(p.dst, 'tandem.full_vals')).md5 === (await checksum(p.src, 'tandem.full_vals')).md5);
  t.same(await checksum(p.dst, 'tandem.vals'), want, 'vals: target equals source (text of every column of every row)');
  t.same(await checksum(p.dst, 'tandem.full_vals'), await checksum(p.src, 'tandem.full_vals'), 'full_vals equal');

  // Spot checks on values a JS round trip would change.
  const q = `select tstz::text, num::text, big::text, j::text, jb::text, b::text, length(big_txt) as len, md5(big_txt) as h from tandem.vals where id = 101`;
  const [s, d] = [(await p.src(q)).rows[0], (await p.dst(q)).rows[0]];
  t.same(d, s, 'row 101 equal column by column');
  t.match(d.tstz, /\.123456/, 'microseconds kept');
  t.equal(d.j, '{"a": 1,  "a": 2, "n": 12345678901234567890}', 'json text kept as is');
  t.match(d.jb, /12345678901234567890/, 'jsonb big number kept');
  t.equal(d.len, 1024 * 1024, 'TOASTed value kept after an update that did not touch it');
  ac.abort();
  await running;
});

t.test('binary transfer: columns whose type differs on the target are read as the source type and cast', async (t) => {
  const p = await startPair(t, `create schema tandem; create type tandem.mood as enum ('sad', 'ok');`);
  await p.src(`create table tandem.widen (id int primary key, n int, s text, m tandem.mood, k tandem.mood, a int[], same text)`);
  // The target was migrated first (wider types, an enum turned into text), as in a rolling upgrade.
  await p.dst(`create table tandem.widen (id bigint primary key, n bigint, s varchar(100), m tandem.mood, k text, a bigint[], same text)`);
  await p.src(`insert into tandem.widen select g, g * 10, 's' || g, 'ok', 'sad', array[g, -g], 'x' from generate_series(1, 3) g`);
  const opts = { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, binary: true };
  let repl = background(t, opts);
  await waitFor('initial copy', async () => (await checksum(p.dst, 'tandem.widen')).rows === 3); // what follows is streamed
  await p.src(`insert into tandem.widen select g, 2147483000, repeat('é', 100), 'sad', 'ok', array[2147483647, null], null from generate_series(10, 14) g`);
  await p.src(`insert into tandem.widen values (20, -1, 'one', null, null, '{}', 'y')`); // a single row
  await p.src(`update tandem.widen set n = n + 1, k = 'ok', a = a || 7 where id in (1, 2, 10)`); // set-based update
  await p.src(`update tandem.widen set id = 30 where id = 3`); // key moved
  await p.src(`delete from tandem.widen where id in (11, 12)`); // set-based delete
  await p.src(`delete from tandem.widen where id = 13`);
  const want = await checksum(p.src, 'tandem.widen');
  await waitFor('widened table replicated', async () => {
    repl.check();
    return (await checksum(p.dst, 'tandem.widen')).md5 === want.md5;
  });
  t.same(await checksum(p.dst, 'tandem.widen'), want, 'every row equal as text');
  t.same((await p.dst(`select pg_typeof(n)::text as n, pg_typeof(a)::text as a from tandem.widen limit 1`)).rows[0], { n: 'bigint', a: 'bigint[]' }, "the target's types");

  // A value the target's type cannot hold is a target-side conflict, as with text transfer.
  await p.src(`update tandem.widen set s = repeat('x', 101) where id = 20`);
  const tooLong = await repl.done.then(() => null, (e: Error) => e);
  t.match(tooLong?.message, /tandem\.widen.*too long for type character varying\(100\)/, 'the cast value is checked by the column: refused, naming the table');
  await p.dst(`alter table tandem.widen alter column s type varchar(200)`);

  // A source type the target lacks cannot be read: a clear stop, not a guess.
  await p.src(`create type tandem.only_here as enum ('a'); create table tandem.lacks (id int primary key, v tandem.only_here); insert into tandem.lacks values (1, 'a')`);
  await p.dst(`create table tandem.lacks (id int primary key, v text)`);
  repl = background(t, opts);
  const lacks = await repl.done.then(() => null, (e: Error) => e);
  t.match(lacks?.message, /cannot read column v of tandem\.lacks: its type on the source, "tandem"\."only_here", does not exist on the target.*--text/, 'names the column and the way out');
  const text = await runText(opts);
  t.equal(text, 'caught_up', 'with text transfer the table replicates');
  t.same(await checksum(p.dst, 'tandem.lacks'), await checksum(p.src, 'tandem.lacks'));
  t.same(await checksum(p.dst, 'tandem.widen'), await checksum(p.src, 'tandem.widen'), 'and the change refused before (same group) after the fix');
});

async function runText(opts: { sourceUrl: string; targetUrl: string }): Promise<string> {
  const { runReplicator } = await import('../../replicator/index.js');
  return (await runReplicator({ ...opts, binary: false, untilCaughtUp: true })).reason;
}
