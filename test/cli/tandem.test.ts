// The `tandem` command as a user runs it: built CLI, real process, exit codes.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../harness/tmp.js';
import { startPostgres } from '../harness/postgres.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tandem = (args: string[], env: NodeJS.ProcessEnv = {}, cwd = root) =>
  spawnSync(process.execPath, [path.join(root, 'bin/tandem.js'), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
    cwd,
  });

t.test('--help lists the subcommands', async (t) => {
  const r = tandem(['--help']);
  t.equal(r.status, 0);
  for (const cmd of ['server', 'migrate', 'demo']) t.match(r.stdout, new RegExp(`^  ${cmd}\\s`, 'm'), `lists ${cmd}`);
  t.match(r.stdout, /Example:/);
});

t.test('--version prints the package version', async (t) => {
  const r = tandem(['--version']);
  t.equal(r.status, 0);
  t.match(r.stdout, /^tandem \d+\.\d+\.\d+/);
});

t.test('every command has --help with an example', async (t) => {
  const list = tandem(['--help']).stdout.split('Commands:\n')[1]!.split('\n\n')[0]!;
  const names = list
    .split('\n')
    .map((l) => l.trim().split(/\s{2,}/)[0]!)
    .filter(Boolean);
  t.ok(names.length >= 3);
  for (const name of names) {
    const r = tandem([...name.split(' '), '--help']);
    t.equal(r.status, 0, `${name} --help exits 0`);
    t.match(r.stdout, /Example/, `${name} --help has an example`);
  }
});

t.test('an unknown subcommand exits 2 naming it', async (t) => {
  const r = tandem(['nonsense']);
  t.equal(r.status, 2);
  t.match(r.stderr, /unknown command "nonsense"/);
  t.match(r.stderr, /Usage: tandem/);
});

t.test('an unknown flag exits 2 naming it', async (t) => {
  const r = tandem(['migrate', '--bogus']);
  t.equal(r.status, 2);
  t.match(r.stderr, /--bogus/);
});

t.test('a config file with a wrong type exits non-zero naming the key', async (t) => {
  const dir = await tempDir(t, 'cli');
  const file = path.join(dir, 'tandem.yaml');
  writeFileSync(file, 'database:\n  url: postgres://x@127.0.0.1/db\nserver:\n  port: "not a number"\n');
  const r = tandem(['server', '--config', file]);
  t.not(r.status, 0);
  t.match(r.stderr, /server\.port: expected an integer/);
});

t.test('an environment variable with a bad URL names the key and the variable', async (t) => {
  const r = tandem(['migrate'], { TANDEM_DATABASE_URL: 'mysql://nope' });
  t.equal(r.status, 1);
  t.match(r.stderr, /database\.url: not a postgres:\/\/ URL \(from TANDEM_DATABASE_URL\)/);
});

t.test('a missing required key says how to set it', async (t) => {
  const r = tandem(['migrate']);
  t.equal(r.status, 1);
  t.match(r.stderr, /database\.url: is required \(set it with --database-url, TANDEM_DATABASE_URL/);
});

t.test('without --config, tandem.yaml in the working directory is used; with neither, the defaults; a missing --config file is an error', async (t) => {
  const pgs = await startPostgres(t, { name: 'cli-cwd' });
  const dbUrl = await pgs.createDatabase('cwd_config');
  const dir = await tempDir(t, 'cli');
  const withFile = path.join(dir, 'site');
  const empty = path.join(dir, 'empty');
  mkdirSync(withFile);
  mkdirSync(empty);
  writeFileSync(path.join(withFile, 'tandem.yaml'), `database:\n  url: ${JSON.stringify(dbUrl)}\n`);

  const migrated = tandem(['migrate'], {}, withFile);
  t.equal(migrated.status, 0, `migrate with ./tandem.yaml exits 0 (${migrated.stderr.trim().split('\n').pop()})`);
  t.match(migrated.stdout, /applied \d+ migration\(s\)/);
  const { rows } = await pgs.query<{ n: number }>('select count(*)::int as n from tandem.audit_events', [], 'cwd_config');
  t.equal(rows[0]!.n, 0, "the database named by ./tandem.yaml holds Tandem's tables");

  const none = tandem(['migrate'], {}, empty);
  t.equal(none.status, 1, 'no file and no environment: the defaults, which name no database');
  t.match(none.stderr, /^tandem migrate: database\.url: is required \(set it with --database-url, TANDEM_DATABASE_URL, the config file\)\n$/);

  const missing = path.join(dir, 'nowhere', 'tandem.yaml');
  const r = tandem(['migrate', '--config', missing], {}, withFile);
  t.equal(r.status, 1, 'a --config file that does not exist exits 1 (the README gives no code; 2 is for unknown commands and flags)');
  t.equal(r.stderr.split('\n').filter(Boolean).length, 1, 'one line');
  t.match(r.stderr, `tandem migrate: cannot read config file ${missing}: ENOENT`, 'names the file and why');
  t.notMatch(r.stdout, /applied/, 'nothing was done with ./tandem.yaml instead');
});
