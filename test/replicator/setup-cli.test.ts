/**
 * Bad set-up gets a clear error and exit code, never a half-done state; the
 * `tandem replicate --until-caught-up` and `tandem replication status`
 * commands end to end. Needs the compiled CLI (`npx tsc -p tsconfig.json`).
 */
import t from 'tap';
import { startPostgres } from '../harness/postgres.js';
import { runTandem } from './cli.js';
import { startPair } from './helpers.js';

const ddl = `
create schema tandem;
create table tandem.kv (id int primary key, v text, extra int);
create table tandem.other (id int primary key);
`;

function withUser(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

t.test('set-up errors name the problem and leave nothing behind', async (t) => {
  const p = await startPair(t, ddl);

  // Target behind the source: a missing table and a missing column.
  await p.dst(`drop table tandem.other; alter table tandem.kv drop column extra`);
  const r1 = await runTandem(t, ['replicate', '--source', p.sourceUrl, '--target', p.targetUrl, '--until-caught-up']);
  t.equal(r1.code, 3, 'exit status 3');
  t.match(r1.stderr, /table tandem\.other is missing on the target/, 'names the missing table');
  t.match(r1.stderr, /table tandem\.kv on the target lacks column\(s\) extra/, 'names the missing column');
  t.match(r1.stderr, /tandem migrate/, 'tells to run tandem migrate');
  t.equal((await p.src(`select count(*)::int as n from pg_publication`)).rows[0].n, 0, 'no publication left on the source');
  t.equal((await p.src(`select count(*)::int as n from pg_replication_slots`)).rows[0].n, 0, 'no slot left on the source');
  await p.dst(`create table tandem.other (id int primary key); alter table tandem.kv add column extra int`);

  // A table without primary key or replica identity.
  await p.src(`create table tandem.nokey (x int)`);
  await p.dst(`create table tandem.nokey (x int)`);
  const r2 = await runTandem(t, ['replicate', '--source', p.sourceUrl, '--target', p.targetUrl, '--until-caught-up']);
  t.equal(r2.code, 3, 'exit status 3');
  t.match(r2.stderr, /without primary key or replica identity: tandem\.nokey/, 'names the table without key');
  await p.src(`alter table tandem.nokey replica identity full`);

  // No replication privilege.
  await p.src(`create role plain login password 'plainpw'`);
  const r3 = await runTandem(t, ['replicate', '--source', withUser(p.sourceUrl, 'plain', 'plainpw'), '--target', p.targetUrl, '--until-caught-up']);
  t.equal(r3.code, 3, 'exit status 3');
  t.match(r3.stderr, /role "plain" may not replicate.*ALTER ROLE "plain" REPLICATION/, 'says which privilege is missing and how to grant it');

  // Works now; status in text and JSON.
  await p.src(`insert into tandem.kv values (1, 'a', 1), (2, 'b', 2)`);
  const ok = await runTandem(t, ['replicate', '--source', p.sourceUrl, '--target', p.targetUrl, '--slot', 'cli_site', '--until-caught-up']);
  t.equal(ok.code, 0, 'replicate --until-caught-up exits 0');
  t.match(ok.stdout, /caught up/, 'says it caught up');
  t.equal((await p.dst('select count(*)::int as n from tandem.kv')).rows[0].n, 2, 'rows on the target');
  const st = await runTandem(t, ['replication', 'status', '--source', p.sourceUrl, '--target', p.targetUrl, '--slot', 'cli_site', '--json']);
  t.equal(st.code, 0, 'status exits 0');
  const j = JSON.parse(st.stdout);
  t.equal(j.slot, 'cli_site', 'slot name');
  t.equal(j.state, 'stopped', 'state stopped after --until-caught-up');
  t.match(j.appliedLsn, /^[0-9A-F]+\/[0-9A-F]+$/, 'applied LSN');
  t.equal(j.slotExists, true, 'slot exists');
  t.equal(j.walStatus, 'reserved', 'wal_status reported');
  t.ok(typeof j.lagBytes === 'number' && j.lagBytes < 65536, `lag in bytes reported (${j.lagBytes})`);
  const txt = await runTandem(t, ['replication', 'status', '--source', p.sourceUrl, '--target', p.targetUrl, '--slot', 'cli_site']);
  t.match(txt.stdout, /state:\s+stopped \(no replicator connected\)/, 'text status: state');
  t.match(txt.stdout, /slot on source:\s+wal_status reserved/, 'text status: slot health');
});

t.test('a source without wal_level=logical is refused', async (t) => {
  const src = await startPostgres(t, { name: 'replica-level', settings: { wal_level: 'replica' } });
  const dst = await startPostgres(t, { name: 'target' });
  const r = await runTandem(t, ['replicate', '--source', src.url, '--target', dst.url, '--until-caught-up']);
  t.equal(r.code, 3, 'exit status 3');
  t.match(r.stderr, /wal_level=replica; logical replication needs wal_level=logical/, 'names the setting');
});
