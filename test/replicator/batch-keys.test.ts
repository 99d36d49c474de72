/**
 * Set-based apply's pure parts (replicator/apply/batch.ts), no server: batch
 * keys (one text per row key, composite keys never confused), which changes a
 * batch takes (a key already in it must drain it first), the update shapes,
 * the array literals the statements carry, and which row a short result names.
 * test/replicator/batch.test.ts runs the same code against PostgreSQL.
 */
import t from 'tap';
import { batchDelete, batchKey, batchUpdate, firstMissing, TableBatch, textArray, type RowChange } from '../../replicator/apply/batch.js';
import { relationEntry, type RelationEntry } from '../../replicator/apply/relation.js';
import type { TargetColumn } from '../../replicator/apply/target-columns.js';
import type { InsertMessage, Tuple } from '../../replicator/stream/pgoutput.js';

const int: TargetColumn = { identity: '', generated: '', type: '"pg_catalog"."int4"', compareAs: '"pg_catalog"."int4"', equality: true, exactText: true, plainArray: true, typeOid: 23, binaryIO: true };
const text: TargetColumn = { ...int, type: '"pg_catalog"."text"', compareAs: '"pg_catalog"."text"', typeOid: 25 };

/** A relation `s.t` with the given columns (the first `keys` are the key). */
function rel(cols: Array<[string, TargetColumn]>, keys: number): RelationEntry {
  return relationEntry(
    {
      tag: 'relation',
      relationOid: 1,
      schema: 's',
      name: 't',
      replicaIdentity: 'default',
      columns: cols.map(([name], i) => ({ name, isKey: i < keys, typeOid: 25, typeMod: -1 })),
    },
    { columns: new Map(cols), uniqueIndexes: [cols.slice(0, keys).map(([n]) => n)], replicaTriggers: 0 },
  );
}

const single = rel([['id', int], ['v', text], ['w', text]], 1);
const composite = rel([['a', text], ['b', text], ['v', text]], 2);

t.test('batch keys', async (t) => {
  t.ok(single.batchable && composite.batchable, 'fixtures are batchable relations');
  t.equal(batchKey(single, ['42', 'x', null]), '42', 'a one-column key is its text');
  t.equal(batchKey(single, ['42', 'y', undefined]), batchKey(single, ['42', 'x', null]), 'other columns do not matter');
  t.not(batchKey(composite, ['ab', 'c', 'v']), batchKey(composite, ['a', 'bc', 'v']), "('ab','c') and ('a','bc') are two keys");
  t.not(batchKey(composite, ['', 'x', null]), batchKey(composite, ['x', '', null]), 'empty strings keep their place');
  t.equal(batchKey(composite, ['ü', '日本', 'v']), batchKey(composite, ['ü', '日本', 'w']));
  t.not(batchKey(single, ['1.10', null, null]), batchKey(single, ['1.1', null, null]), 'keys compare as text (why batchable needs exactText keys)');
});

const ins = (...v: Tuple): InsertMessage => ({ tag: 'insert', relationOid: 1, newTuple: v });
const del = (...v: Tuple): RowChange => ({ tag: 'delete', relationOid: 1, oldTuple: v, oldKind: 'key' });
const upd = (v: Tuple, old: Tuple | null = null): RowChange => ({ tag: 'update', relationOid: 1, oldTuple: old, oldKind: old ? 'key' : null, newTuple: v });

t.test('a batch takes a key once; the second change of a row waits for the batch to drain', async (t) => {
  const b = new TableBatch(single);
  t.ok(b.free(ins('1', 'a', null)));
  b.addInsert(ins('1', 'a', null), null);
  b.addDelete(['2', null, null], null);
  t.notOk(b.free(upd(['1', 'b', null])), 'inserted key');
  t.notOk(b.free(del('2', null, null)), 'deleted key');
  t.notOk(b.free(ins('2', 'again', null)), 'a deleted key inserted again');
  t.notOk(b.free(upd(['3', 'x', null], ['2', null, null])), 'an update moving a row away from a deleted key');
  t.ok(b.free(upd(['4', 'x', null], ['3', null, null])));
  b.addUpdate(['5', null, null], ['6', 'x', 'y'], null);
  t.notOk(b.free(del('5', null, null)), 'an update that moves a key holds its old key');
  t.notOk(b.free(del('6', null, null)), 'and its new key');
  t.same(b.inserts.map((r) => r.tuple), [['1', 'a', null]]);
  t.same(b.deletes.map((r) => r.keyTuple), [['2', null, null]]);
});

t.test('an insert-only batch keeps no keys; the first other change finds the inserted ones', async (t) => {
  const b = new TableBatch(single);
  for (let i = 1; i <= 3; i++) {
    t.ok(b.free(ins(String(i), 'a', null)));
    b.addInsert(ins(String(i), 'a', null), null);
  }
  t.equal((b as unknown as { keys: unknown }).keys, null, 'no key set while only inserts arrived');
  t.notOk(b.free(del('2', null, null)), 'a delete of an inserted row');
  t.notOk(b.free(upd(['3', 'b', null])), 'an update of an inserted row');
  t.notOk(b.free(upd(['9', 'b', null], ['1', null, null])), 'an update moving an inserted row');
  t.ok(b.free(del('4', null, null)), 'a delete of another row');
  b.addDelete(['4', null, null], null);
  t.notOk(b.free(ins('4', 'back', null)), 'once keys are kept, an insert of a deleted key waits');
  t.notOk(b.free(ins('1', 'dup', null)), 'and so does one of an inserted key');
  t.ok(b.free(ins('5', 'new', null)));
});

t.test('update shapes: unchanged TOAST values and (unmoved) keys are not set', async (t) => {
  const b = new TableBatch(single);
  b.addUpdate(null, ['1', 'a', 'b'], null);
  b.addUpdate(null, ['2', 'c', 'd'], null);
  b.addUpdate(null, ['3', undefined, 'e'], null);
  b.addUpdate(['4', null, null], ['40', 'f', 'g'], null);
  t.same(
    [...b.updates].map(([shape, u]) => [shape, u.setCols, u.rows.length]),
    [
      ['_ss', [1, 2], 2],
      ['__s', [2], 1],
      ['ksss', [0, 1, 2], 1],
    ],
  );
  const moved = b.updates.get('ksss')!.rows[0]!;
  t.same(moved.keyTuple, ['4', null, null], 'a moved row is found by its old key');
});

t.test('array literals: every element quoted, quotes and backslashes escaped, NULL bare', async (t) => {
  t.equal(textArray(['a', 'b c', '']), '{"a","b c",""}');
  t.equal(textArray(['NULL', null, undefined]), '{"NULL",NULL,NULL}', 'the string NULL is quoted, a NULL is not');
  t.equal(textArray(['x"y', 'back\\slash', '{1,2}', 'ü']), '{"x\\"y","back\\\\slash","{1,2}","ü"}');
  t.equal(textArray([]), '{}');
});

t.test('statements: unnest of typed arrays, ordinals returned; nothing to set still checks the rows exist', async (t) => {
  const rows = [
    { keyTuple: ['1', null, null] as Tuple, tuple: ['1', 'a', null] as Tuple, txn: null },
    { keyTuple: ['2', null, null] as Tuple, tuple: ['2', 'b"', null] as Tuple, txn: null },
  ];
  const del = batchDelete(single, rows);
  t.match(del.text, /^delete from "s"\."t" as t using unnest\(\$1::"pg_catalog"\."int4"\[\]\) with ordinality as u\(k0, ord\) where t\."id" = u\.k0 returning u\.ord$/);
  t.same(del.values, ['{"1","2"}']);
  const upd = batchUpdate(single, [1], rows);
  t.match(upd.text, /^update "s"\."t" as t set "v" = u\.s0 from unnest\(\$1::"pg_catalog"\."int4"\[\], \$2::"pg_catalog"\."text"\[\]\)/);
  t.same(upd.values, ['{"1","2"}', '{"a","b\\""}']);
  t.match(batchUpdate(single, [], rows).text, /^select u\.ord from "s"\."t" as t join unnest/);
  const comp = batchDelete(composite, [{ keyTuple: ['a', 'b', null], tuple: ['a', 'b', null], txn: null }]);
  t.match(comp.text, /u\(k0, k1, ord\) where t\."a" = u\.k0 and t\."b" = u\.k1/);
});

t.test('a short result names the first row it did not return', async (t) => {
  const rows = ['a', 'b', 'c'].map((k) => ({ keyTuple: [k], tuple: [k], txn: null }));
  t.equal(firstMissing(rows, ['1', '3']), rows[1]);
  t.equal(firstMissing(rows, ['3', '2', '1']), undefined);
  t.equal(firstMissing(rows, []), rows[0]);
});
