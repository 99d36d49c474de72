/**
 * A source table's columns change while the replicator streams. Each session
 * reads the target's tables ahead, at its start (apply/target-columns.ts,
 * TargetTables); a `relation` message that follows a schema change must be
 * checked against the target's catalog as it is then, not as it was read
 * ahead: a column added on both sites is applied (also when the target got
 * it after the session read it ahead), a column the target lacks stops
 * replication with the set-up's message (run `tandem migrate`), and nothing
 * of that transaction is applied.
 */
import t from 'tap';
import { isTandemError } from '../../server/errors.js';
import { createLogger } from '../../server/log.js';
import { runReplicator } from '../../replicator/index.js';
import { background, startPair, waitFor } from './helpers.js';

const ddl = `
create schema tandem;
create table tandem.kv (id int primary key, v text);
`;

t.test('columns added on the source while streaming', async (t) => {
  const p = await startPair(t, ddl);
  const opts = { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'ddl_site' };
  await runReplicator({ ...opts, untilCaughtUp: true });
  const r = background(t, opts);
  const row = async (id: number) => (await p.dst('select * from tandem.kv where id = $1::int', [id])).rows[0] as Record<string, unknown> | undefined;

  await p.src(`insert into tandem.kv values (1, 'before')`);
  await waitFor('the first row', async () => (r.check(), await row(1)));

  // Added on both sites (the target first, as `tandem migrate` does): the new relation message reads the target again.
  await p.dst(`alter table tandem.kv add column late int`);
  await p.src(`alter table tandem.kv add column late int`);
  await p.src(`insert into tandem.kv values (2, 'with late', 42)`);
  t.same(await waitFor('the row with the new column', async () => (r.check(), await row(2))), { id: 2, v: 'with late', late: 42 }, 'applied with the added column');

  // Added on the source only: the replicator stops and says what the target lacks.
  await p.src(`alter table tandem.kv add column only_source int`);
  await p.src(`insert into tandem.kv values (3, 'too new', 1, 7)`);
  const e = await r.done.then(() => null, (err: unknown) => err);
  t.ok(isTandemError(e) && e.code === 'replication_setup', 'stopped with a set-up error');
  t.match((e as Error).message, /table tandem\.kv on the target lacks column\(s\) only_source/, 'names the missing column');
  t.match((e as Error).message, /tandem migrate/, 'tells to run tandem migrate');
  t.equal(await row(3), undefined, 'nothing of that transaction was applied');

  // Migrated: the next run applies it.
  await p.dst(`alter table tandem.kv add column only_source int`);
  await runReplicator({ ...opts, untilCaughtUp: true });
  t.same(await row(3), { id: 3, v: 'too new', late: 1, only_source: 7 }, 'applied once the target has the column');

  // Migrated after a new session read the target ahead, before the table's first change in that session.
  const lines: string[] = [];
  const log = createLogger({}, { level: 'info', format: 'json', write: (line) => lines.push(line) });
  const r2 = background(t, { ...opts, log });
  await waitFor('the new session streams', () => (r2.check(), lines.some((l) => l.includes('"msg":"streaming"'))));
  await p.dst(`alter table tandem.kv add column migrated text`);
  await p.src(`alter table tandem.kv add column migrated text`);
  await p.src(`insert into tandem.kv values (4, 'after the migration', null, null, 'yes')`);
  t.same(
    await waitFor('the row of the migrated table', async () => (r2.check(), await row(4))),
    { id: 4, v: 'after the migration', late: null, only_source: null, migrated: 'yes' },
    'the target was read again, not taken as read ahead',
  );
});
