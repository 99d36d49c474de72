/**
 * A target role that is not a superuser: without the right to set
 * session_replication_role the replicator refuses to start (exit 3, a message
 * that says how to grant it, nothing created); with only ordinary table
 * grants plus `GRANT SET ON PARAMETER session_replication_role` (PostgreSQL
 * 15+) it replicates, and the target's own triggers and foreign-key actions do
 * not run on applied rows (an ON DELETE CASCADE on the source arrives as the
 * source's own deletes). Needs the compiled CLI (`npx tsc -p tsconfig.json`).
 */
import t from 'tap';
import { isTandemError } from '../../server/errors.js';
import { runReplicator } from '../../replicator/index.js';
import { runTandem } from './cli.js';
import { checksum, startPair } from './helpers.js';

const ddl = `
create schema tandem;
create table tandem.parent (id int primary key, v text);
create table tandem.child (id int primary key, parent int not null references tandem.parent (id) on delete cascade);
create table tandem.audit (id int primary key, what text);
`;

// Only on the target: a trigger that would refuse every applied row if it fired.
const targetTrigger = `
create function tandem.refuse() returns trigger language plpgsql as $$
begin
  raise exception 'target trigger fired on % of %', tg_op, tg_table_name;
end $$;
create trigger refuse_rows before insert or update or delete on tandem.audit for each row execute function tandem.refuse();
`;

function withUser(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

t.test('a target role without the right to set session_replication_role is refused; with GRANT SET ON PARAMETER it works', async (t) => {
  const p = await startPair(t, ddl);
  await p.dst(targetTrigger);
  // Ordinary grants for a non-superuser replicator role: the replicated tables, and CREATE for its bookkeeping schema.
  await p.dst(`create role repl_target login password 'replpw';
    grant usage on schema tandem to repl_target;
    grant select, insert, update, delete, truncate on all tables in schema tandem to repl_target;
    grant create on database app to repl_target`);
  const targetUrl = withUser(p.targetUrl, 'repl_target', 'replpw');
  await p.src(`insert into tandem.parent select g, 'p' || g from generate_series(1, 10) g;
    insert into tandem.child select g, g from generate_series(1, 10) g;
    insert into tandem.audit values (1, 'before the copy')`);

  const refused = await runTandem(t, ['replicate', '--source', p.sourceUrl, '--target', targetUrl, '--until-caught-up']);
  t.equal(refused.code, 3, 'exit status 3');
  // Logs before it are JSON lines; the error is the one plain line at the end.
  const last = refused.stderr.trim().split('\n').pop() ?? '';
  t.match(last, /target role "repl_target" may not set session_replication_role/, 'names the role and the setting');
  t.match(last, /GRANT SET ON PARAMETER session_replication_role TO "repl_target"/, 'says how to grant it, on the same line');
  t.equal((await p.src(`select count(*)::int as n from pg_publication`)).rows[0].n, 0, 'no publication left on the source');
  t.equal((await p.src(`select count(*)::int as n from pg_replication_slots`)).rows[0].n, 0, 'no slot left on the source');
  t.equal((await p.dst(`select count(*)::int as n from tandem.parent`)).rows[0].n, 0, 'nothing copied to the target');

  const e = await runReplicator({ sourceUrl: p.sourceUrl, targetUrl, untilCaughtUp: true }).then(() => null, (err: unknown) => err);
  t.ok(isTandemError(e) && e.code === 'replication_setup' && e.exitCode === 3, 'the API refuses with replication_setup too');

  await p.dst(`grant set on parameter session_replication_role to repl_target`);
  const opts = { sourceUrl: p.sourceUrl, targetUrl, slot: 'role_site', untilCaughtUp: true };
  await runReplicator(opts);
  for (const tb of ['tandem.parent', 'tandem.child', 'tandem.audit']) t.same(await checksum(p.dst, tb), await checksum(p.src, tb), `${tb}: initial copy equal`);

  // Streamed changes: the target's trigger must not fire, and the cascade must not run a second time.
  await p.src(`insert into tandem.audit values (2, 'streamed'); update tandem.audit set what = 'changed' where id = 1`);
  await p.src(`delete from tandem.parent where id <= 4`); // cascades to child 1..4 on the source, sent as their own deletes
  await p.src(`update tandem.parent set v = 'kept' where id = 5`);
  await runReplicator(opts);
  for (const tb of ['tandem.parent', 'tandem.child', 'tandem.audit']) t.same(await checksum(p.dst, tb), await checksum(p.src, tb), `${tb}: equal after streaming`);
  t.equal((await p.dst(`select count(*)::int as n from tandem.child`)).rows[0].n, 6, 'the cascaded child deletes applied once');
  t.same((await p.dst(`select what from tandem.audit order by id`)).rows, [{ what: 'changed' }, { what: 'streamed' }], 'rows the target trigger would refuse were applied');
});
