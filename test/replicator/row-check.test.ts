/**
 * One round trip per group (replicator/apply/row-check.ts,
 * StatementQueue.sendWithCommit), on a real PostgreSQL: the group's commit
 * travels with its last statements, the row counts checked on the target. A
 * statement that finds fewer rows than its change names must keep the whole
 * group from committing, and the error must still name the missing row; what
 * was sent before and failed its check in Node must keep the commit from
 * being sent at all. Where the check function cannot be created, the applier
 * falls back to checking in Node.
 */
import t from 'tap';
import pg from 'pg';
import { startPostgres } from '../harness/postgres.js';
import { createLogger } from '../../server/log.js';
import { BEGIN, StatementQueue, type Pending } from '../../replicator/apply/statement-queue.js';
import { checkedOnTarget, installRowCheck } from '../../replicator/apply/row-check.js';
import { isTandemError } from '../../server/errors.js';

const lines: string[] = [];
const log = createLogger({}, { level: 'info', format: 'json', write: (line) => lines.push(line) });

t.test('the commit travels with the statements; a missing row keeps the group from committing', async (t) => {
  const server = await startPostgres(t, { name: 'rowcheck' });
  const url = await server.createDatabase('rc');
  await server.query('create table kv (id int primary key, v text); insert into kv select g, null from generate_series(1, 5) g', [], 'rc');
  const target = new pg.Client({ connectionString: url });
  await target.connect();
  t.teardown(() => target.end());
  t.equal(await installRowCheck(target, log), true, 'the check function is created in the session');

  const insert = (id: number): Pending => ({ name: '', text: 'insert into kv values ($1::int, $2::text)', values: [String(id), 'new'], expectRows: null, kind: 'insert', context: () => ({ table: 'kv', change: 'insert', key: { id: String(id) } }) });
  const update = (id: number): Pending => ({
    name: 'kv.update',
    text: 'update kv set v = $2::text where id = $1::int',
    values: [String(id), 'changed'],
    expectRows: 1,
    kind: 'update',
    context: () => ({ table: 'kv', change: 'update', key: { id: String(id) } }),
  });
  const setBasedDelete = (ids: number[]): Pending => ({
    name: '',
    text: 'delete from kv as t using unnest($1::int[]) with ordinality as u(k0, ord) where t.id = u.k0 returning u.ord',
    values: [`{${ids.join(',')}}`],
    expectRows: ids.length,
    kind: 'delete',
    context: () => ({ table: 'kv', change: `delete (one of ${ids.length} rows)` }),
    mismatch: (returned) => {
      const missing = ids.find((_, n) => !returned.includes(String(n + 1)));
      return { table: 'kv', change: 'delete', key: { id: String(missing) } };
    },
  });
  const rows = async () => (await server.query<{ id: number; v: string | null }>('select id, v from kv order by id', [], 'rc')).rows;

  await t.test('a whole group in one round trip: begin, changes, commit', async (t) => {
    const q = new StatementQueue(target, true);
    q.push(BEGIN);
    q.push(insert(6));
    q.push(update(1));
    q.push(setBasedDelete([2, 3]));
    const reply = q.sendWithCommit();
    t.ok(reply, 'every statement can be checked on the target');
    t.equal(await reply, 'COMMIT');
    t.same(await rows(), [
      { id: 1, v: 'changed' },
      { id: 4, v: null },
      { id: 5, v: null },
      { id: 6, v: 'new' },
    ]);
  });

  await t.test('an update that finds no row: nothing of the group is committed, the error names the row', async (t) => {
    const before = await rows();
    const q = new StatementQueue(target, true);
    q.push(BEGIN);
    q.push(insert(7));
    q.push(update(99));
    q.push(update(4));
    const e = await q.sendWithCommit()!.then(
      () => null,
      (err: unknown) => err,
    );
    t.ok(isTandemError(e) && e.code === 'replication_apply', 'an apply error');
    t.match((e as Error).message, /cannot apply update to kv key \{"id":"99"\}.*the row to update does not exist on the target/);
    t.equal((e as { details?: { replication?: { kind?: string } } }).details?.replication?.kind, 'conflict', 'a target-side conflict');
    await target.query('rollback');
    t.same(await rows(), before, 'the insert before it and the update after it are not on the target');
  });

  await t.test('a set-based statement short of rows names the missing one from the ordinals the target reported', async (t) => {
    const before = await rows();
    const q = new StatementQueue(target, true);
    q.push(BEGIN);
    q.push(setBasedDelete([4, 42, 5]));
    const e = await q.sendWithCommit()!.then(
      () => null,
      (err: unknown) => err,
    );
    t.match((e as Error).message, /cannot apply delete to kv key \{"id":"42"\}/);
    await target.query('rollback');
    t.same(await rows(), before, 'rows 4 and 5 are still there');
  });

  await t.test('a failure sent before and checked in Node keeps the commit from being sent', async (t) => {
    const before = await rows();
    const q = new StatementQueue(target, true);
    q.push(BEGIN);
    q.push(insert(8));
    q.push(update(77)); // checked in Node: the statement itself succeeds with 0 rows
    const flushed = q.flush().then(
      () => null,
      (err: unknown) => err,
    );
    q.push(insert(9));
    const committed = q.sendWithCommit()!.then(
      () => null,
      (err: unknown) => err,
    );
    t.match(((await flushed) as Error).message, /update to kv key \{"id":"77"\}.*does not exist/, 'the first failure is the flushed update');
    t.match(((await committed) as Error).message, /update to kv key \{"id":"77"\}/, 'the commit fails with it, unsent');
    const own = await target.query<{ n: number }>('select count(*)::int as n from kv where id = 8');
    t.same(own.rows, [{ n: 1 }], "the group's transaction is still open on the target (its insert visible inside it): no commit was sent");
    await target.query('rollback');
    t.same(await rows(), before, 'nothing of the group is on the target');
  });

  await t.test('a statement with its own data-modifying WITH cannot be wrapped: the caller commits on its own', async (t) => {
    const replace: Pending = {
      name: '',
      text: 'with old as (delete from kv where id = $1::int returning *) insert into kv select id + 100, v from old',
      values: ['4'],
      expectRows: 1,
      kind: 'update',
      context: () => ({ table: 'kv', change: 'update' }),
    };
    t.equal(checkedOnTarget({ ...replace, expectRows: 1, ordinals: false }), null);
    const q = new StatementQueue(target, true);
    q.push(BEGIN);
    q.push(replace);
    t.equal(q.sendWithCommit(), null, 'not sent');
    await q.flush(); // the caller's way: sent and checked in Node, then commit
    await target.query('commit');
    t.same((await rows()).map((r) => r.id), [1, 5, 6, 104]);
  });

  await t.test('without the TEMPORARY privilege the check is not installed (row counts are checked in Node)', async (t) => {
    await server.query("revoke temporary on database rc from public; create role plain login password 'plain-password'", [], 'rc');
    const plain = new pg.Client({ connectionString: url.replace(/\/\/[^@]*@/, '//plain:plain-password@') });
    await plain.connect();
    t.teardown(() => plain.end());
    t.equal(await installRowCheck(plain, log), false);
    t.match(lines.join('\n'), /row counts are checked in the replicator, one more round trip per group/, 'says so once in the log');
    t.equal(new StatementQueue(plain, false).sendWithCommit(), null, 'a queue without the check never sends the commit with the statements');
  });
});
