/**
 * Binary transfer without servers: the COPY and array framing on byte
 * fixtures, printing for messages and hooks, which relations may take the
 * set-based and COPY paths, and the type check between the sites. (The type
 * matrix, types-matrix.test.ts, runs every type through real clusters in
 * binary mode.)
 */
import t from 'tap';
import { batchDelete, batchInsert, batchUpdate } from '../../replicator/apply/batch.js';
import { binaryArray, COPY_BINARY_END, COPY_BINARY_START, copyBinaryRows, printable } from '../../replicator/apply/binary-values.js';
import { copyStatement, deleteStatement, describeKey, insertStatement, relationEntry, sourceTypeName, unnamedDifferingTypes, writtenValues } from '../../replicator/apply/relation.js';
import type { TargetColumn, TargetTable } from '../../replicator/apply/target-columns.js';
import { CopyRowArena, CopyRowInsert } from '../../replicator/stream/copy-rows.js';
import { decodePgoutput, type RelationMessage } from '../../replicator/stream/pgoutput.js';

const latin1 = (bytes: number[]) => Buffer.from(bytes).toString('latin1');
const int4 = (n: number) => latin1([(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);

const int: TargetColumn = {
  identity: '',
  generated: '',
  type: '"pg_catalog"."int4"',
  compareAs: '"pg_catalog"."int4"',
  equality: true,
  exactText: true,
  plainArray: true,
  typeOid: 23,
  binaryIO: true,
};
const text: TargetColumn = { ...int, type: '"pg_catalog"."text"', compareAs: '"pg_catalog"."text"', typeOid: 25 };
/** A composite column: binary, but not an array-able type (set-based statements cannot carry it in binary). */
const comp: TargetColumn = { ...int, type: '"s"."pair"', compareAs: '"s"."pair"', plainArray: false, typeOid: 16_500 };
/** A type without send/receive functions: stays text under binary transfer. */
const noBinary: TargetColumn = { ...text, type: '"s"."opaque"', compareAs: '"s"."opaque"', typeOid: 16_600, binaryIO: false };

function message(cols: Array<[string, number]>, keys: number): RelationMessage {
  return {
    tag: 'relation',
    relationOid: 1,
    schema: 's',
    name: 't',
    replicaIdentity: 'default',
    columns: cols.map(([name, typeOid], i) => ({ name, isKey: i < keys, typeOid, typeMod: -1 })),
  };
}

function table(cols: Array<[string, TargetColumn]>, keys: number): TargetTable {
  return { columns: new Map(cols), uniqueIndexes: [cols.slice(0, keys).map(([n]) => n)], replicaTriggers: 0 };
}

t.test('COPY binary framing: header, 16-bit field count, 32-bit lengths, -1 for NULL, trailer', async (t) => {
  const header = [...Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), 0, 0, 0, 0, 0, 0, 0, 0]; // signature, flags 0, extension 0
  t.same(COPY_BINARY_START, Buffer.from(header));
  t.same(COPY_BINARY_END, Buffer.from([0xff, 0xff]), 'a field count of -1');
  // A COPY is written in pieces: the rows of each piece, between the start and the end written once.
  const data = copyBinaryRows([
    [int4(7), null, latin1([0xc3, 0xbc, 0x00, 0xff])],
    [int4(8), '', null],
  ]);
  t.same(
    data,
    Buffer.from([
      ...[0, 3, 0, 0, 0, 4, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 4, 0xc3, 0xbc, 0x00, 0xff],
      ...[0, 3, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff],
    ]),
  );
  t.same(
    copyBinaryRows([[int4(1), 'x', int4(2)]], [0, 2]),
    Buffer.from([0, 2, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 2]),
    'only the written columns',
  );
  t.equal(copyBinaryRows([]).length, 0, 'no rows: no bytes');
});

t.test('COPY rows that arrived as such are copied as they are; a run adjacent in one slab is not copied at all', async (t) => {
  const arena = new CopyRowArena();
  /** An insert as pgoutput sends it with binary transfer ('b' values, 'n' NULL), decoded into the arena. */
  const insert = (values: (string | null)[]) => {
    const parts: Buffer[] = [Buffer.from('I\0\0\0\x01N', 'latin1'), Buffer.from([0, values.length])];
    for (const v of values) {
      if (v === null) parts.push(Buffer.from('n'));
      else {
        const len = Buffer.alloc(4);
        len.writeInt32BE(v.length);
        parts.push(Buffer.from('b'), len, Buffer.from(v, 'latin1'));
      }
    }
    const msg = Buffer.concat(parts);
    return decodePgoutput(msg, 0, msg.length, arena) as CopyRowInsert;
  };
  const tuples = [
    [int4(7), null, latin1([0xc3, 0xbc, 0x00, 0xff])],
    [int4(8), '', null],
    [int4(9), 'x'.repeat(50), 'y'],
  ];
  const rows = tuples.map(insert);
  t.ok(rows.every((r) => r instanceof CopyRowInsert), 'fixtures are COPY rows');
  const want = copyBinaryRows(tuples);
  const run = copyBinaryRows(rows);
  t.same(run, want, 'the same bytes as written from the values');
  t.equal(run.buffer, rows[0]!.slab.buffer, 'a run adjacent in its slab: a view of the slab, no copy');
  t.same(copyBinaryRows([rows[0]!, tuples[1]!, rows[2]!]), want, 'COPY rows and tuples mixed');
  t.same(copyBinaryRows([rows[2]!, rows[0]!, rows[1]!]), copyBinaryRows([tuples[2]!, tuples[0]!, tuples[1]!]), 'not adjacent in that order: copied');
  t.same(copyBinaryRows(rows, [0, 2]), copyBinaryRows(tuples, [0, 2]), 'only the written columns: from the values');
});

t.test('binary arrays: one dimension, the NULL flag, the element type OID, each element framed', async (t) => {
  t.same(binaryArray(23, [int4(1), null]), Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 23, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff]));
  t.same(binaryArray(3_000_000_000, ['a']).subarray(8, 12), Buffer.from([0xb2, 0xd0, 0x5e, 0x00]), 'an OID above 2^31 as unsigned');
  t.equal(binaryArray(25, ['a', 'b']).readInt32BE(4), 0, 'no NULL: flag 0');
});

t.test('printable: what PostgreSQL would print for the types keys and hooks use; bytes in hex otherwise', async (t) => {
  t.equal(printable('"pg_catalog"."int4"', int4(-2)), '-2');
  t.equal(printable('"pg_catalog"."int8"', latin1([0, 0, 0, 1, 0, 0, 0, 0])), '4294967296');
  t.equal(printable('"pg_catalog"."int2"', latin1([0xff, 0xfe])), '-2');
  t.equal(printable('"pg_catalog"."bool"', latin1([1])), 't');
  t.equal(printable('"pg_catalog"."uuid"', latin1([...Buffer.from('0123456789abcdef0123456789abcdef', 'hex')])), '01234567-89ab-cdef-0123-456789abcdef');
  t.equal(printable('"pg_catalog"."text"', Buffer.from('日本', 'utf8').toString('latin1')), '日本', 'text: its UTF-8 bytes');
  t.equal(printable('"pg_catalog"."jsonb"', latin1([1, ...Buffer.from('{"a": 1}')])), '{"a": 1}', 'jsonb: version byte, then text');
  t.equal(printable('"pg_catalog"."numeric"', latin1([0, 1, 0, 0])), '\\x00010000', 'other types: hex');
  t.equal(printable('"pg_catalog"."int4"', latin1([1, 2])), '\\x0102', 'a size that is not the type’s: hex');
  t.equal(printable('"s"."int4"', int4(1)), '\\x00000001', 'a user type of the same name is not pg_catalog.int4');
});

t.test('which paths a relation takes under binary transfer', async (t) => {
  const plain = relationEntry(message([['id', 23], ['v', 25]], 1), table([['id', int], ['v', text]], 1), true);
  t.same(plain.binary, [true, true]);
  t.ok(plain.batchable && plain.copyable, 'plain types: set-based, binary COPY');
  t.match(copyStatement(plain), /from stdin with \(format binary\)$/);
  const ins = batchInsert(plain, [{ keyTuple: [int4(1), 'a'], tuple: [int4(1), 'a'], txn: null }, { keyTuple: [int4(2), null], tuple: [int4(2), null], txn: null }]);
  t.ok(ins.values.every((v) => Buffer.isBuffer(v)), 'set-based parameters are binary arrays');
  t.match(ins.text, /unnest\(\$1::"pg_catalog"\."int4"\[\], \$2::"pg_catalog"\."text"\[\]\)/);
  t.same(writtenValues(plain, [int4(5), 'x']), [Buffer.from(int4(5), 'latin1'), Buffer.from('x', 'latin1')], 'row statements bind bytes');
  t.same(deleteStatement(plain, [int4(5), null]).values, [Buffer.from(int4(5), 'latin1')]);
  t.same(describeKey(plain, [int4(5), 'x']), { id: '5' }, 'an error names the key as text');
  t.same(batchDelete(plain, [{ keyTuple: [int4(1), null], tuple: [int4(1), null], txn: null }]).values, [binaryArray(23, [int4(1)])]);

  t.equal(plain.batchRowsLimit, Infinity, 'one array per column: any number of rows');

  const named = new Map([[16_500, sourceTypeName('s', 'pair')]]);
  const withComposite = relationEntry(message([['id', 23], ['p', 16_500]], 1), table([['id', int], ['p', comp]], 1), true, named);
  t.ok(withComposite.batchable && withComposite.copyable, 'a composite column: set-based, and inserts through binary COPY');
  t.equal(withComposite.batchRowsLimit, Math.floor(65_535 / 3), 'rows bounded by the 65,535 parameters of a statement (key twice + 2 columns)');
  const rows = [
    { keyTuple: [int4(1), null], tuple: [int4(1), 'p1'], txn: null },
    { keyTuple: [int4(2), null], tuple: [int4(2), 'p2'], txn: null },
  ];
  const upd = batchUpdate(withComposite, [1], rows);
  t.equal(
    upd.text,
    'update "s"."t" as t set "p" = u.s0 from (values ($1::"pg_catalog"."int4", $2::"s"."pair", 1), ($3::"pg_catalog"."int4", $4::"s"."pair", 2)) as u(k0, s0, ord) ' +
      'where t."id" = u.k0 returning u.ord',
    'no array of its type: a VALUES list, one binary parameter per value, the ordinal as a literal',
  );
  t.same(upd.values, [int4(1), 'p1', int4(2), 'p2'].map((v) => Buffer.from(v, 'latin1')));
  t.match(batchInsert(withComposite, rows).text, /^insert into "s"\."t" \("id", "p"\) select u\.c0, u\.c1 from \(values \(\$1::"pg_catalog"\."int4", \$2::"s"\."pair"\), /);
  t.match(batchDelete(withComposite, rows).text, /using unnest\(\$1::"pg_catalog"\."int4"\[\]\) with ordinality as u\(k0, ord\)/, 'a delete passes only keys: arrays again');
  const textComposite = relationEntry(message([['id', 23], ['p', 16_500]], 1), table([['id', int], ['p', comp]], 1), false);
  t.match(batchUpdate(textComposite, [1], rows).text, /set "p" = u\.s0::"s"\."pair" from unnest\(\$1::"pg_catalog"\."int4"\[\], \$2::text\[\]\)/, 'as text: text[] cast per value');

  const mixed = relationEntry(message([['id', 23], ['o', 16_600]], 1), table([['id', int], ['o', noBinary]], 1), true);
  t.same(mixed.binary, [true, false], 'a type without send/receive stays text');
  t.notOk(mixed.copyable, 'no COPY: a binary COPY needs every column binary, a text COPY every column text');
  t.ok(mixed.batchable, 'set-based: the text column as a text array, the binary one as a binary array');
  t.same(writtenValues(mixed, [int4(1), 'opaque text']), [Buffer.from(int4(1), 'latin1'), 'opaque text']);

  const textMode = relationEntry(message([['id', 23], ['v', 25]], 1), table([['id', int], ['v', text]], 1));
  t.same(textMode.binary, [false, false]);
  t.notMatch(copyStatement(textMode), /binary/);
});

t.test('a column whose type differs between the sites: read as the source type, cast to the target type', async (t) => {
  const bigint: TargetColumn = { ...int, type: '"pg_catalog"."int8"', compareAs: '"pg_catalog"."int8"', typeOid: 20 };
  const pairs = new Map([[16_400, sourceTypeName('s', 'pair')], [16_401, sourceTypeName('s', 'other')], [23, '"pg_catalog"."int4"']]);
  t.same(unnamedDifferingTypes(message([['id', 23], ['p', 16_400]], 1), table([['id', bigint], ['p', comp]], 1), new Map()), [23], 'a built-in source type to name from the catalog');
  t.same(unnamedDifferingTypes(message([['id', 23], ['p', 16_400]], 1), table([['id', int], ['p', comp]], 1), new Map()), [], 'none when equal');
  const same = relationEntry(message([['id', 23], ['p', 16_400]], 1), table([['id', int], ['p', comp]], 1), true, pairs);
  t.same(same.recvAs, [null, null], 'built-in by OID, others by name (OIDs differ between clusters): equal');
  t.ok(same.copyable);

  const rel = relationEntry(message([['id', 23], ['p', 16_401]], 1), table([['id', bigint], ['p', comp]], 1), true, pairs);
  t.same(rel.recvAs, ['"pg_catalog"."int4"', '"s"."other"']);
  t.notOk(rel.copyable, 'no binary COPY: COPY cannot cast');
  t.ok(rel.batchable);
  t.equal(insertStatement(rel).text, 'insert into "s"."t" ("id", "p") values (($1::"pg_catalog"."int4")::"pg_catalog"."int8", ($2::"s"."other")::"s"."pair")');
  t.match(deleteStatement(rel, [int4(5), null]).stmt.text, /where "id" = \(\$1::"pg_catalog"\."int4"\)::"pg_catalog"\."int8"$/);
  const rows = [
    { keyTuple: [int4(1), null], tuple: [int4(1), 'x'], txn: null },
    { keyTuple: [int4(2), null], tuple: [int4(2), 'y'], txn: null },
  ];
  t.match(batchDelete(rel, rows).text, /using \(values \(\(\$1::"pg_catalog"\."int4"\)::"pg_catalog"\."int8", 1\), /, 'set-based: a VALUES list with the cast');
  t.same(describeKey(rel, [int4(5), null]), { id: '5' }, 'printed as the source type it is');
  t.equal(rel.batchRowsLimit, Math.floor(65_535 / 3));
  t.throws(() => relationEntry(message([['id', 23], ['p', 16_402]], 1), table([['id', int], ['p', comp]], 1), true, pairs), /no name for the source's type OID 16402/);
  t.equal(sourceTypeName('', 'int4'), '"pg_catalog"."int4"', 'pgoutput names pg_catalog with an empty namespace');
  const textColumn = relationEntry(message([['id', 23], ['o', 16_700]], 1), table([['id', int], ['o', noBinary]], 1), true, new Map());
  t.same(textColumn.recvAs, [null, null], 'a column that stays text is not compared');
});
