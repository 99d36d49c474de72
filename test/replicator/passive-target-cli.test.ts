// `tandem replicate` into a site initialised as passive: its database defaults
// to read-only transactions for the application, the replicator still writes.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../harness/postgres.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tandem = (...args: string[]) =>
  spawnSync(process.execPath, [path.join(root, 'bin/tandem.js'), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });

t.test('replicate into a passive site', async (t) => {
  const [a, b] = await Promise.all([startPostgres(t, { name: 'site-a' }), startPostgres(t, { name: 'site-b' })]);
  for (const [pg, name, role] of [[a, 'a', 'active'], [b, 'b', 'passive']] as const) {
    t.equal(tandem('migrate', '--database-url', pg.url).status, 0, `migrate ${name}`);
    const init = tandem('site', 'init', '--name', name, '--role', role, '--database-url', pg.url);
    t.equal(init.status, 0, init.stderr);
  }
  await a.query("insert into tandem.projects (name) values ('replicated-while-passive')");
  const r = tandem('replicate', '--source', a.url, '--target', b.url, '--until-caught-up');
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /caught up/);
  const rows = await b.query<{ name: string }>('select name from tandem.projects');
  t.same(rows.rows, [{ name: 'replicated-while-passive' }], 'the row reached the passive site');
  const ro = await b.query<{ ro: string }>("select current_setting('default_transaction_read_only') as ro");
  t.equal(ro.rows[0]!.ro, 'on', 'the passive database stays read-only by default for the application');
});
