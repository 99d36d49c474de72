/**
 * TargetTables (replicator/apply/target-columns.ts): the facts a session
 * reads ahead serve a table's first relation message only within 10 s of the
 * read and only when the target had every column the message names;
 * otherwise the catalog is read again, so that a target migrated since is
 * seen (here: a unique index added, which must stop set-based apply, and a
 * column added). Real PostgreSQL; time is moved by the test's clock.
 */
import t from 'tap';
import pg from 'pg';
import { TargetTables } from '../../replicator/apply/target-columns.js';
import { startPostgres } from '../harness/postgres.js';

t.test('read ahead, then served once, within 10 s, when it has the columns', async (t) => {
  const server = await startPostgres(t, { name: 'target' });
  const url = await server.createDatabase('app');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  t.teardown(() => c.end());
  await c.query(`create schema tandem; create table tandem.a (id int primary key, v text); create table tandem.b (id int primary key, v text);
                 create table tandem.c (id int primary key, v text); create table other_schema_t (id int primary key)`);

  // Unique indexes as sorted column lists (the catalog's order is not part of the facts).
  const indexes = (x: { uniqueIndexes: (string[] | null)[] } | null) => x?.uniqueIndexes.map((i) => (i ?? []).join(',')).sort();
  let now = 1_000_000;
  const tables = new TargetTables(c, () => now);
  await tables.readAhead(['tandem']);
  // The target is migrated after the read-ahead.
  await c.query(`create unique index a_v on tandem.a (v); create unique index b_v on tandem.b (v); alter table tandem.c add column w int`);

  const a1 = await tables.take('tandem', 'a', ['id', 'v']);
  t.same(indexes(a1), ['id'], 'within 10 s and with every column: the facts as read ahead');
  t.same([...a1!.columns.keys()], ['id', 'v'], 'its columns as read ahead');
  const a2 = await tables.take('tandem', 'a', ['id', 'v']);
  t.same(indexes(a2), ['id', 'v'], 'a second message for the same table reads the catalog: the new index');

  const c1 = await tables.take('tandem', 'c', ['id', 'v', 'w']);
  t.same([...c1!.columns.keys()], ['id', 'v', 'w'], 'a column the read-ahead lacks: the catalog is read, with the new column');

  now += 10_001;
  const b1 = await tables.take('tandem', 'b', ['id', 'v']);
  t.same(indexes(b1), ['id', 'v'], 'after 10 s: the catalog is read, with the new index');

  t.equal(await tables.take('tandem', 'missing', ['id']), null, 'a table the target does not have: null');
  t.equal(await tables.take('public', 'other_schema_t', ['id']).then((x) => x?.columns.size), 1, 'a table outside the schemas read ahead: read when asked');
});
