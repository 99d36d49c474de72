// tandem token|user|acl as an operator runs them: the built CLI (npx tsc first) in real processes where
// standard input or the printed output matters, the same entry point (main) in-process for the rest.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { migrate } from '../../server/db/migrate.js';
import { checkToken } from '../../server/auth/tokens.js';
import { LocalAuthenticator } from '../../server/auth/local/local-authenticator.js';
import { main } from '../../replicator/cli/tandem.js';
import { testPool } from '../harness/pool.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tandem = (args: string[], input = '') =>
  spawnSync(process.execPath, [path.join(root, 'bin/tandem.js'), ...args], {
    encoding: 'utf8',
    input,
    env: { PATH: process.env.PATH, TANDEM_LOG_LEVEL: 'warn' },
    cwd: root,
  });

process.env.TANDEM_LOG_LEVEL = 'warn';

/** Run `tandem ARGS` through its entry point in this process, capturing output and the one-line error. */
async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    err.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  try {
    const status = await main(args, (line) => out.push(line));
    return { status, stdout: out.join('\n'), stderr: err.join('') };
  } finally {
    process.stderr.write = write;
  }
}

t.test('tandem token create|list|revoke', async (t) => {
  const pgs = await startPostgres(t, { name: 'auth-cli' });
  const url = await pgs.createDatabase('tokens');

  const early = await cli(['token', 'create', '--database-url', url, '--user', 'ci', '--role', 'user']);
  t.equal(early.status, 1, 'before migration: a clear error');
  t.match(early.stderr, /run "tandem migrate" first/);

  await migrate(url);
  const pool = testPool(t, { connectionString: url, max: 2 });

  const r = tandem(['token', 'create', '--database-url', url, '--user', 'ci', '--role', 'user', '--role', 'viewer,runner', '--expires', '30d', '--description', 'CI pipeline']);
  t.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const token = lines[lines.length - 1]!;
  t.match(token, /^tdm_[A-Za-z0-9_-]{43}$/, 'the token alone on the last line');
  const check = await checkToken(pool, token);
  t.ok(check.ok, 'the printed token is valid');
  if (check.ok) {
    t.same(check.token.roles, ['user', 'viewer', 'runner']);
    t.equal(check.token.username, 'ci');
    t.ok(check.token.expiresAt!.getTime() > Date.now() + 29 * 86_400_000);
    t.equal(check.token.description, 'CI pipeline');
  }

  const list = await cli(['token', 'list', '--database-url', url, '--json']);
  t.equal(list.status, 0);
  const listed = JSON.parse(list.stdout);
  t.equal(listed.length, 1);
  t.notOk(list.stdout.includes(token), 'list never shows the secret');

  const rev = await cli(['token', 'revoke', listed[0].id, '--database-url', url]);
  t.equal(rev.status, 0, rev.stderr);
  t.same(await checkToken(pool, token), { ok: false, reason: 'revoked' });
  const audit = await pool.query("select event from tandem.audit_events where details->>'via' = 'cli' order by at");
  t.same(audit.rows.map((x) => x.event), ['token.created', 'token.revoked'], 'CLI token events are audited');

  for (const [args, msg] of [
    [['token', 'create', '--database-url', url, '--role', 'user'], /missing --user/],
    [['token', 'create', '--database-url', url, '--user', 'x', '--role', 'user', '--expires', 'soon'], /--expires: expected a duration/],
    [['token', 'create', '--user', 'x', '--role', 'user'], /database\.url: is required/],
  ] as const) {
    const bad = await cli([...args]);
    t.not(bad.status, 0, `${args.join(' ')} fails`);
    t.match(bad.stderr, msg);
    t.equal(bad.stderr.trim().split('\n').length, 1, 'with a one-line message');
  }
});

t.test('tandem user add|passwd|remove', async (t) => {
  const dir = await tempDir(t, 'users-cli');
  const file = path.join(dir, 'users.yaml');
  const add = tandem(['user', 'add', 'admin', '--role', 'admin', '--users-file', file], 'first-password\n');
  t.equal(add.status, 0, add.stderr);
  t.equal(statSync(file).mode & 0o777, 0o600, 'readable by its owner only');
  const text = readFileSync(file, 'utf8');
  t.match(text, /\$scrypt\$N=32768,r=8,p=1\$/);
  t.notOk(text.includes('first-password'), 'no clear-text password');
  const local = new LocalAuthenticator(file);
  t.equal((await local.authenticate('admin', 'first-password')).ok, true);

  t.equal((await cli(['user', 'add', 'admin', '--role', 'admin', '--users-file', file])).status, 1, 'adding twice is refused');
  const short = tandem(['user', 'add', 'bob', '--role', 'user', '--users-file', file], 'short\n');
  t.equal(short.status, 1);
  t.match(short.stderr, /at least 8 characters/);
  t.match((await cli(['user', 'add', 'carl', '--role', 'user'])).stderr, /no users file/);

  const pw = tandem(['user', 'passwd', 'admin', '--users-file', file], 'second-password\n');
  t.equal(pw.status, 0, pw.stderr);
  t.same(await local.authenticate('admin', 'first-password'), { ok: false, reason: 'bad_credentials' }, 'the old password stops working at once');
  const ok = await local.authenticate('admin', 'second-password');
  t.ok(ok.ok && ok.identity.roles.includes('admin'), 'the new one works and roles are kept');

  const rm = await cli(['user', 'remove', 'admin', '--users-file', file]);
  t.equal(rm.status, 0);
  t.same(await local.authenticate('admin', 'second-password'), { ok: false, reason: 'unknown_user' });
  t.equal((await cli(['user', 'remove', 'admin', '--users-file', file])).status, 1, 'removing an unknown user fails');
});

t.test('tandem acl validate points at the line', async (t) => {
  const dir = await tempDir(t, 'acl-cli');
  const good = path.join(dir, 'good.aclpolicy');
  writeFileSync(good, 'description: ok\ncontext:\n  project: ops\nfor:\n  job:\n    - allow: [read, run]\nby:\n  group: dev\n');
  const r = await cli(['acl', 'validate', good]);
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.match(r.stdout, /good\.aclpolicy: ok \(1 policy, 1 rule\(s\)\)/);

  const bad = path.join(dir, 'bad.aclpolicy');
  writeFileSync(bad, 'description: bad\ncontext:\n  project: ops\nfor:\n  job:\n    - allow: [read, rn]\nby:\n  group: dev\n');
  const b = await cli(['acl', 'validate', good, bad]);
  t.equal(b.status, 1);
  t.match(b.stdout, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:6:21: for\\.job\\[0\\]\\.allow\\[1\\]: unknown action "rn"`));
  t.equal((await cli(['acl', 'validate'])).status, 2, 'no file is a usage error');
});
