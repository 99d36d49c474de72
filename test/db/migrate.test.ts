import t from 'tap';
import { writeFileSync, readdirSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { migrate, defaultSqlDir } from '../../server/db/migrate.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';

t.test('migrations apply once, in order, concurrently, and refuse changed files', async (t) => {
  const server = await startPostgres(t, { name: 'migrate' });
  const url = await server.createDatabase('migrate_test');
  const dir = await tempDir(t, 'sql');
  for (const f of readdirSync(defaultSqlDir())) copyFileSync(path.join(defaultSqlDir(), f), path.join(dir, f));
  writeFileSync(path.join(dir, '900_probe.sql'), 'create table tandem.probe (id int primary key);\ninsert into tandem.probe values (1);\n');

  // Five members starting at once: the advisory lock makes every file apply exactly once.
  const results = await Promise.all(Array.from({ length: 5 }, () => migrate(url, { dir })));
  const total = results.reduce((n, r) => n + r.applied.length, 0);
  t.equal(total, readdirSync(dir).length, 'each migration applied by exactly one of the racing members');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  t.teardown(() => c.end());
  t.same((await c.query('select count(*)::int as n from tandem.probe')).rows, [{ n: 1 }], 'probe migration ran once');
  const ledger = await c.query('select id from tandem_site.migrations order by id');
  t.equal(ledger.rows.at(-1)!.id, 900);

  const again = await migrate(url, { dir });
  t.same(again.applied, [], 'nothing to do the second time');

  writeFileSync(path.join(dir, '900_probe.sql'), 'create table tandem.probe (id int primary key);\n-- edited\n');
  await t.rejects(migrate(url, { dir }), { code: 'migration_checksum_mismatch', message: /900_probe\.sql was changed after it was applied/ });

  // A failing migration leaves nothing half-applied.
  writeFileSync(path.join(dir, '900_probe.sql'), 'create table tandem.probe (id int primary key);\ninsert into tandem.probe values (1);\n');
  writeFileSync(path.join(dir, '901_broken.sql'), 'create table tandem.half (id int primary key);\nselect no_such_function();\n');
  await t.rejects(migrate(url, { dir }), { message: /901_broken\.sql failed/ });
  t.same((await c.query("select to_regclass('tandem.half') as r")).rows, [{ r: null }], 'the failed migration was rolled back whole');
});
