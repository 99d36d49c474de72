/**
 * Type matrix (replicator/README.md, "Values travel as the source sent them"): every listed type in every position
 * — single-column primary key, part of a composite primary key, ordinary
 * column, REPLICA IDENTITY FULL table, unchanged TOAST value — through
 * insert, update of the key, update of another column, update of the column,
 * delete and truncate; through the initial copy, the set-based apply and the
 * row-by-row apply. After each phase source and target are compared
 * byte-exactly: the text of every row of every table, ordered, under the
 * replicator's pinned session settings (DateStyle, TimeZone,
 * extra_float_digits, bytea_output, IntervalStyle, lc_monetary) on both sides.
 *
 * One source and one target cluster for the whole file.
 */
import t from 'tap';
import pg from 'pg';
import { SOURCE_SESSION_OPTIONS } from '../../replicator/stream/connection.js';
import { background, startPair, waitFor } from './helpers.js';

interface TypeCase {
  /** Table suffix. */
  name: string;
  /** Column type as written in CREATE TABLE. */
  type: string;
  /** Usable in a primary key (has a btree operator class). */
  key: boolean;
  /** Six SQL expressions, pairwise unequal under the type's `=`. */
  values: string[];
  /** An expression whose value is stored out of line (TOAST) in a column with STORAGE EXTERNAL. */
  big?: string;
  /** Two expressions equal under `=` with different text, and the text each prints. */
  twins?: [string, string, string, string];
  /** The type to compare values as in the workload's WHERE clauses (a domain's base type: `=` of a domain over an enum does not resolve). */
  cmp?: string;
}

/** `col = value` in the workload's statements. */
function eq(c: TypeCase, col: string, value: string): string {
  const type = c.cmp ?? c.type;
  return `${col}::${type} = (${value})::${type}`;
}

const nines = '9'.repeat(500) + '.' + '9'.repeat(500); // 1000 digits

const base: TypeCase[] = [
  { name: 'arr1', type: 'int4[]', key: true, values: [`'{1,2,3}'`, `'{}'`, `'{NULL,1}'`, `'{-5}'`, `'[0:1]={7,8}'`, `'{2147483647}'`], big: `array(select g from generate_series(1, 3000) g)` },
  { name: 'arr2', type: 'int4[][]', key: true, values: [`'{{1,2},{3,4}}'`, `'{{5,6}}'`, `'{{NULL,1},{2,3}}'`, `'{{9}}'`, `'{{1},{2}}'`, `'[2:2][0:1]={{0,0}}'`], big: `array(select array[g, -g] from generate_series(1, 1500) g)` },
  {
    name: 'tarr',
    type: 'text[]',
    key: true,
    values: [String.raw`'{"a,b","c\"d",NULL,"NULL",""}'`, String.raw`'{"{x}","back\\slash"}'`, `'{}'`, `'{" spaced ",tab}'`, `'{q}'`, `'{"é日本",";"}'`],
    big: `array(select md5(g::text) from generate_series(1, 300) g)`,
  },
  { name: 'enum', type: 'tandem.mood', key: true, values: [`'sad'`, `'ok'`, `'très content'`, `'with,comma'`, `'qu"ote'`, `'NULL'`] },
  {
    name: 'comp',
    type: 'tandem.outer_t',
    key: true,
    values: [
      `row(row('ok', 'x,y')::tandem.inner_t, 1.5, '{1,2}')::tandem.outer_t`,
      `row(row('qu"ote', 'a"b(c)')::tandem.inner_t, null, '{}')::tandem.outer_t`,
      `row(null, 'NaN', null)::tandem.outer_t`,
      `row(row(null, '')::tandem.inner_t, -0.5, '{NULL}')::tandem.outer_t`,
      String.raw`row(row('with,comma', 'back\slash')::tandem.inner_t, 1e20, '{3}')::tandem.outer_t`,
      `row(row('NULL', 'NULL')::tandem.inner_t, 0, '{4,5}')::tandem.outer_t`,
    ],
    big: `row(row('ok', repeat('x', 5000))::tandem.inner_t, 1, '{}')::tandem.outer_t`,
  },
  { name: 'i4range', type: 'int4range', key: true, values: [`'[1,10)'`, `'empty'`, `'(,5]'`, `'[3,3]'`, `'[2,)'`, `'(,)'`] },
  {
    name: 'tsrange',
    type: 'tstzrange',
    key: true,
    values: [
      `'["2024-01-01 00:00:00.000001+00","2024-02-01 00:00:00+00")'`,
      `'empty'`,
      `'[,"2024-01-01 00:00:00+00"]'`,
      `'(-infinity,infinity)'`,
      `'["2000-01-01 00:00:00+00","2000-01-01 00:00:00.000001+00"]'`,
      `'["1999-12-31 23:00:00-01:00",)'`,
    ],
  },
  {
    name: 'mrange',
    type: 'int4multirange',
    key: true,
    values: [`'{}'`, `'{[1,3),[5,7)}'`, `'{[1,2)}'`, `'{(,0)}'`, `'{[10,20)}'`, `'{[-5,-1],[100,)}'`],
    big: `(select range_agg(int4range(g * 3, g * 3 + 1)) from generate_series(1, 2000) g)`,
  },
  {
    name: 'hstore',
    type: 'hstore',
    key: true,
    values: [`'a=>1, "b c"=>NULL'`, `'"k"=>"v=>w"'`, `''`, `'x=>y'`, String.raw`'"quo\"te"=>"back\\slash"'`, `'n=>NULL'`],
    big: `hstore(array(select 'k' || g from generate_series(1, 500) g), array(select md5(g::text) from generate_series(1, 500) g))`,
  },
  {
    name: 'json',
    type: 'json',
    key: false,
    values: [`'{"a": 1,  "a": 2, "n": 12345678901234567890}'`, `'[]'`, `'"s"'`, `'null'`, `'{"b":1, "a":2}'`, `'1e400'`],
    big: `(select json_agg(g)::text from generate_series(1, 3000) g)::json`,
  },
  {
    name: 'jsonb',
    type: 'jsonb',
    key: true,
    values: [`'{"n": 12345678901234567890, "f": 1.000000000000000000001}'`, `'{"b":1,"a":2,"a":3}'`, `'[]'`, `'null'`, `'{"a":{"a":1}}'`, `'"str"'`],
    big: `(select jsonb_agg(md5(g::text)) from generate_series(1, 300) g)`,
    twins: [`'{"a": 1.0}'`, `'{"a": 1.00}'`, '{"a": 1.0}', '{"a": 1.00}'],
  },
  {
    name: 'numeric',
    type: 'numeric',
    key: true,
    values: [`'NaN'`, `'${nines}'`, `'-0.000000000000000000000000000001'`, `'1.10'`, `'Infinity'`, `'-Infinity'`],
    twins: [`1.1`, `1.10`, '1.1', '1.10'],
  },
  {
    name: 'float8',
    type: 'float8',
    key: true,
    values: [`'NaN'`, `'Infinity'`, `'-Infinity'`, `'-0'`, `'1.7976931348623157e308'`, `'5e-324'`],
    twins: [`'0'`, `'-0'`, '0', '-0'],
  },
  { name: 'float4', type: 'float4', key: true, values: [`'NaN'`, `'-0'`, `'3.4028235e38'`, `'1e-45'`, `'-Infinity'`, `'0.1'`] },
  {
    name: 'tstz',
    type: 'timestamptz',
    key: true,
    values: [`'2024-01-02 03:04:05.123456+00'`, `'1970-01-01 00:00:00.000001+00'`, `'infinity'`, `'-infinity'`, `'2024-06-30 12:00:00.5-07:30'`, `'0044-03-15 12:00:00+00 BC'`],
  },
  {
    name: 'ts',
    type: 'timestamp',
    key: true,
    values: [`'2024-02-29 23:59:59.999999'`, `'infinity'`, `'4713-01-01 00:00:00 BC'`, `'1999-12-31 00:00:00'`, `'2000-01-01 00:00:00.000001'`, `'-infinity'`],
  },
  { name: 'time', type: 'time', key: true, values: [`'23:59:59.999999'`, `'00:00:00'`, `'24:00:00'`, `'12:00:00.000001'`, `'01:02:03'`, `'00:00:00.5'`] },
  {
    name: 'interval',
    type: 'interval',
    key: true,
    values: [`'1 year 2 mons 3 days 04:05:06.789001'`, `'-1 days -00:00:00.000001'`, `'0'`, `'1000000 hours'`, `'-178000000 years'`, `'00:00:00.000001'`],
    twins: [`'1 day'`, `'24 hours'`, '1 day', '24:00:00'],
  },
  {
    name: 'bytea',
    type: 'bytea',
    key: true,
    values: [String.raw`'\x'`, String.raw`'\x00ff10270a5c'`, String.raw`'\xdeadbeef'`, String.raw`'\x5c5c'`, String.raw`'\x00'`, String.raw`'\x0a0d09'`],
    big: `decode(repeat('ab', 5000), 'hex')`,
  },
  {
    name: 'uuid',
    type: 'uuid',
    key: true,
    values: [`'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'`, `'00000000-0000-0000-0000-000000000000'`, `'ffffffff-ffff-ffff-ffff-ffffffffffff'`, `'12345678-1234-1234-1234-123456789abc'`, `'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12}'`, `'A0EEBC999C0B4EF8BB6D6BB9BD380A13'`],
  },
  { name: 'inet', type: 'inet', key: true, values: [`'10.0.0.1/8'`, `'::1'`, `'192.168.0.1'`, `'2001:db8::1/64'`, `'10.0.0.1'`, `'0.0.0.0/0'`] },
  { name: 'cidr', type: 'cidr', key: true, values: [`'10.0.0.0/8'`, `'2001:db8::/32'`, `'192.168.1.0/24'`, `'0.0.0.0/0'`, `'::/0'`, `'10.1.2.3/32'`] },
  { name: 'bit', type: 'bit(4)', key: true, values: [`B'1010'`, `B'0000'`, `B'1111'`, `B'0101'`, `B'0001'`, `B'1000'`] },
  { name: 'varbit', type: 'varbit', key: true, values: [`B''`, `B'1'`, `B'101010'`, `B'0'`, `B'10'`, `B'0000000011'`], big: `repeat('1', 40000)::varbit` },
  { name: 'money', type: 'money', key: true, values: [`'1234567.89'`, `'-0.01'`, `'0'`, `'92233720368547758.07'`, `'-92233720368547758.08'`, `'0.5'`] },
  {
    name: 'xml',
    type: 'xml',
    key: false,
    values: [`'<a b="1">t</a>'`, `'plain text'`, `'<?xml version="1.0"?><r/>'`, `''`, `'<x>&amp;&lt;</x>'`, `'<n:a xmlns:n="u"/>'`],
    big: `xmlelement(name a, repeat('x', 5000))`,
  },
  { name: 'tsvector', type: 'tsvector', key: true, values: [`'a fat cat'`, `'x:1,2,3'`, `''`, `'zz:1A'`, `'é:2'`, `$$'multi word':3C$$`], big: `(select string_agg(md5(g::text), ' ') from generate_series(1, 300) g)::tsvector` },
  { name: 'point', type: 'point', key: false, values: [`'(1,2)'`, `'(1.5,-2.25)'`, `'(0,0)'`, `'(1e308,-1e-308)'`, `'(-0,NaN)'`, `'(Infinity,-Infinity)'`] },
  {
    name: 'citext',
    type: 'citext',
    key: true,
    values: [`'MiXeD'`, `'other'`, `''`, `'Ünïcode'`, `'x'`, `'y z'`],
    big: `repeat('Ab', 3000)`,
    twins: [`'Abc'`, `'abc'`, 'Abc', 'abc'],
  },
  // A user-defined base type from an extension (not one PostgreSQL's core knows).
  { name: 'cube', type: 'cube', key: true, values: [`'(1,2),(3,4)'`, `'(1)'`, `'(0,0,0)'`, `'(-1.5e10)'`, `'(1),(2)'`, `'(5,6)'`] },
];

/** A domain over a listed type: the same values, through the domain. */
function domain(of: string, name: string): TypeCase {
  const c = base.find((b) => b.name === of)!;
  return { ...c, name, type: `tandem.${name}`, cmp: c.type };
}
const domains: [string, string, string][] = [
  ['arr1', 'd_arr', 'int4[]'],
  ['tarr', 'd_tarr', 'text[]'],
  ['enum', 'd_enum', 'tandem.mood'],
  ['comp', 'd_comp', 'tandem.outer_t'],
  ['i4range', 'd_range', 'int4range'],
  ['mrange', 'd_mrange', 'int4multirange'],
  ['jsonb', 'd_jsonb', 'jsonb'],
  ['json', 'd_json', 'json'],
  ['numeric', 'd_numeric', 'numeric'],
  ['tstz', 'd_tstz', 'timestamptz'],
  ['bytea', 'd_bytea', 'bytea'],
  ['hstore', 'd_hstore', 'hstore'],
  ['citext', 'd_citext', 'citext'],
  ['point', 'd_point', 'point'],
];
const cases: TypeCase[] = [...base, ...domains.map(([of, name]) => domain(of, name))];

const ddl = [
  'create extension hstore;',
  'create extension citext;',
  'create extension cube;',
  'create schema tandem;',
  `create type tandem.mood as enum ('sad', 'ok', 'très content', 'with,comma', 'qu"ote', 'NULL');`,
  'create type tandem.inner_t as (m tandem.mood, t text);',
  'create type tandem.outer_t as (i tandem.inner_t, n numeric, a int[]);',
  ...domains.map(([, name, over]) => `create domain tandem.${name} as ${over};`),
  ...cases.flatMap((c) => {
    const ext = c.big ? (tb: string) => `alter table tandem.${tb} alter column c set storage external;` : () => '';
    return [
      ...(c.key
        ? [
            `create table tandem.k_${c.name} (k ${c.type} primary key, v int not null, c ${c.type}); ${ext(`k_${c.name}`)}`,
            `create table tandem.c_${c.name} (id int, k ${c.type}, v int not null, c ${c.type}, primary key (id, k)); ${ext(`c_${c.name}`)}`,
          ]
        : []),
      `create table tandem.o_${c.name} (id int primary key, v int not null, c ${c.type}); ${ext(`o_${c.name}`)}`,
      `create table tandem.f_${c.name} (k ${c.type}, v int not null, c ${c.type}); alter table tandem.f_${c.name} replica identity full; ${ext(`f_${c.name}`)}`,
    ];
  }),
].join('\n');

const tables = cases.flatMap((c) => [...(c.key ? [`k_${c.name}`, `c_${c.name}`] : []), `o_${c.name}`, `f_${c.name}`]);

/** The source transactions of one phase: each step one transaction over every table. */
function steps(): { what: string; sql: string }[] {
  const per = (fn: (c: TypeCase, V: string[], big: string) => string) => cases.map((c) => fn(c, c.values, c.big ?? c.values[2]!)).join('\n');
  return [
    {
      what: 'insert (multi-row)',
      sql: per((c, V, big) =>
        [
          c.key ? `insert into tandem.k_${c.name} values (${V[0]}, 0, ${V[1]}), (${V[1]}, 1, ${V[2]}), (${V[2]}, 2, ${big}), (${V[3]}, 3, null);` : '',
          c.key ? `insert into tandem.c_${c.name} values (1, ${V[0]}, 0, ${V[1]}), (2, ${V[1]}, 1, ${big}), (3, ${V[2]}, 2, null), (1, ${V[1]}, 3, ${V[3]});` : '',
          `insert into tandem.o_${c.name} values (1, 0, ${V[0]}), (2, 1, ${big}), (3, 2, null), (4, 3, ${V[2]});`,
          `insert into tandem.f_${c.name} values (${V[0]}, 0, ${V[1]}), (${V[0]}, 0, ${V[1]}), (${V[1]}, 1, ${big}), (null, 2, null), (${V[2]}, 3, ${V[3]});`,
        ].join('\n'),
      ),
    },
    {
      what: 'insert (one row per table)',
      sql: per((c, V) =>
        [
          c.key ? `insert into tandem.k_${c.name} values (${V[4]}, 4, ${V[0]});` : '',
          c.key ? `insert into tandem.c_${c.name} values (5, ${V[4]}, 4, ${V[4]});` : '',
          `insert into tandem.o_${c.name} values (5, 4, ${V[4]});`,
          `insert into tandem.f_${c.name} values (${V[4]}, 4, ${V[4]});`,
        ].join('\n'),
      ),
    },
    {
      what: 'update of another column (TOAST values unchanged)',
      sql: per((c) =>
        [c.key ? `update tandem.k_${c.name} set v = v + 100; update tandem.c_${c.name} set v = v + 100;` : '', `update tandem.o_${c.name} set v = v + 100;`, `update tandem.f_${c.name} set v = v + 100;`].join('\n'),
      ),
    },
    {
      what: 'update of the key',
      sql: per((c, V) =>
        [
          c.key ? `update tandem.k_${c.name} set k = ${V[5]} where ${eq(c, 'k', V[0]!)};` : '',
          c.key ? `update tandem.c_${c.name} set id = id + 10; update tandem.c_${c.name} set k = ${V[5]} where id = 11 and ${eq(c, 'k', V[0]!)};` : '',
          `update tandem.o_${c.name} set id = id + 10 where id = 2;`,
          `update tandem.f_${c.name} set k = ${V[5]} where v = 101;`,
          // Twins, equal under `=`, different text; inserted here so that no update has moved them yet: a scan
          // meets the first before the second, which the next step changes.
          c.twins ? `insert into tandem.f_${c.name} values (${c.twins[0]}, 110, null), (${c.twins[1]}, 110, null);` : '',
        ].join('\n'),
      ),
    },
    {
      what: 'update of the column',
      sql: per((c, V) =>
        [
          c.key ? `update tandem.k_${c.name} set c = ${V[0]} where ${eq(c, 'k', V[1]!)}; update tandem.c_${c.name} set c = ${V[5]} where id = 12;` : '',
          `update tandem.o_${c.name} set c = ${V[3]} where id in (1, 12);`,
          `update tandem.f_${c.name} set c = ${V[4]} where v = 100;`,
          // The second twin: a scan meets the first one (equal under `=`) before it. Both stay to the end (deleting
          // the first would hide a wrong choice: its delete, matched by equality, would remove the other one).
          c.twins ? `update tandem.f_${c.name} set c = ${V[0]} where v = 110 and k::text = '${c.twins[3]}';` : '',
        ].join('\n'),
      ),
    },
    {
      what: 'delete',
      sql: per((c, V) =>
        [
          c.key ? `delete from tandem.k_${c.name} where ${eq(c, 'k', V[2]!)}; delete from tandem.c_${c.name} where id = 13;` : '',
          `delete from tandem.o_${c.name} where id in (3, 4);`,
          `delete from tandem.f_${c.name} where v in (102, 103);`,
          `delete from tandem.f_${c.name} where ctid = (select ctid from tandem.f_${c.name} where v = 100 limit 1);`,
        ].join('\n'),
      ),
    },
  ];
}

const truncateAll = `truncate ${tables.map((tb) => `tandem.${tb}`).join(', ')}`;

/** Count and md5 of every table's rows as text, ordered bytewise. */
const digestSql = tables
  .map((tb) => `select '${tb}' as t, count(*)::int as n, md5(coalesce(string_agg(r::text, E'\\n' order by r::text collate "C"), '')) as h from tandem.${tb} r`)
  .join('\nunion all\n');

t.test('every type in every position replicates byte-exactly: initial copy, set-based and row-by-row apply, binary and text transfer', async (t) => {
  const p = await startPair(t, ddl);
  // Both sides read with the replicator's pinned settings, so the text compared means the same.
  const open = async (url: string) => {
    const c = new pg.Client({ connectionString: url, options: SOURCE_SESSION_OPTIONS });
    c.on('error', () => undefined);
    await c.connect();
    t.teardown(() => c.end());
    return c;
  };
  const [src, dst] = await Promise.all([open(p.sourceUrl), open(p.targetUrl)]);
  const digest = async (c: pg.Client) => new Map((await c.query<{ t: string; n: number; h: string }>(digestSql)).rows.map((r) => [r.t, `${r.n} ${r.h}`]));
  const differing = async () => {
    const [a, b] = await Promise.all([digest(src), digest(dst)]);
    return tables.filter((tb) => a.get(tb) !== b.get(tb));
  };
  /** Wait until equal; then assert, showing the rows of any table that still differs. */
  const compare = async (what: string, repl: { check(): void }) => {
    const waited = await waitFor(what, async () => {
      repl.check();
      return (await differing()).length === 0;
    }, 60_000).then(() => null, (e: Error) => e);
    const bad = await differing();
    for (const tb of bad.slice(0, 5)) {
      const q = `select r::text as row from tandem.${tb} r order by r::text collate "C"`;
      t.same((await dst.query(q)).rows, (await src.query(q)).rows, `${what}: ${tb} differs`);
    }
    t.same(bad, [], `${what}: all ${tables.length} tables equal`);
    // A replicator that stopped cannot catch up later: end here, with its error.
    if (waited) throw waited;
  };
  const workload = async () => {
    for (const s of steps()) await src.query(`begin; ${s.sql} commit;`);
  };

  // Phase 0: the initial copy carries every type (binary transfer: in COPY's binary format).
  await workload();
  let repl = background(t, { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'matrix' });
  await compare('initial copy', repl);
  await src.query(truncateAll);
  await compare('truncate after the copy', repl);

  // Phase 1: streamed, set-based apply with binary transfer, the default (batches over unnest of binary
  // arrays, binary COPY runs, named statements with binary parameters for single rows).
  await workload();
  await compare('set-based apply (binary)', repl);
  await src.query(truncateAll);
  await compare('truncate (set-based, binary)', repl);
  repl.ac.abort();
  await repl.done;

  // Phases 2-4: row-by-row apply (one statement per change); then both again with text transfer
  // (every value as text: text COPY, text arrays cast per value, text parameters).
  for (const [what, opts] of [
    ['row-by-row (binary)', { rowByRow: true }],
    ['set-based (text)', { binary: false }],
    ['row-by-row (text)', { binary: false, rowByRow: true }],
  ] as const) {
    repl = background(t, { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'matrix', ...opts });
    await workload();
    await compare(`${what} apply`, repl);
    await src.query(truncateAll);
    await compare(`truncate, ${what}`, repl);
    repl.ac.abort();
    await repl.done;
  }

  // Phase 5: the initial copy again, as text (a resync): phase 0 copied in COPY's binary format.
  await workload();
  repl = background(t, { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'matrix', binary: false, resync: true });
  await compare('initial copy (text)', repl);
  repl.ac.abort();
  await repl.done;
});
