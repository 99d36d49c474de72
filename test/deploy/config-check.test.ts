// `tandem config check` as an operator runs it (compiled CLI: run
// `npx tsc -p tsconfig.json` first), against real PostgreSQL, a real slapd,
// the GCS emulator through the real client, and a real `tandem server`.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { startGcs } from '../harness/gcs.js';
import { SERVICE_DN, SERVICE_PASSWORD, startLdap } from '../harness/ldap.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { root } from './nginx-render.js';
import { startTandemServer } from './tandem-process.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function configCheck(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/tandem.js'), 'config', 'check', ...args], {
      cwd: root,
      env: { PATH: process.env.PATH, TANDEM_LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The result line of one item: `STATUS ITEM DETAIL`. */
function line(out: string, item: string): string | undefined {
  return out.split('\n').find((l) => l.slice(6).startsWith(item + ' '));
}

t.test('config check', async (t) => {
  const [pg, ldap, gcs, dir] = await Promise.all([
    startPostgres(t, { name: 'check' }),
    startLdap(t),
    startGcs(t, { buckets: ['tandem-logs'] }),
    tempDir(t, 'config-check'),
  ]);
  const dbUrl = await pg.createDatabase('site_a');
  const logDir = path.join(dir, 'logs');
  const spoolDir = path.join(dir, 'spool');
  await mkdir(logDir);
  await mkdir(spoolDir);
  const secretFile = path.join(dir, 'ldap-bind-password');
  await writeFile(secretFile, SERVICE_PASSWORD + '\n', { mode: 0o600 });
  // The bind password reaches the check as it reaches the server: from a _FILE secret.
  const env = { TANDEM_AUTH_LDAP_BIND_PASSWORD_FILE: secretFile };
  const ldapCfg = { urls: [ldap.url], bindDn: SERVICE_DN, userBase: `ou=people,${ldap.baseDn}`, groupBase: `ou=groups,${ldap.baseDn}` };
  const writeConfig = async (name: string, cfg: Record<string, unknown>) => {
    const file = path.join(dir, name);
    await writeFile(file, stringify(cfg));
    return file;
  };
  const good = { database: { url: dbUrl }, auth: { ldap: ldapCfg }, logs: { store: 'filesystem', dir: logDir } };

  // Every run below is a separate `tandem` process (a second or more to
  // start on a busy machine): start those that do not disturb each other at
  // once, then look at each result in its own subtest.
  const server = await startTandemServer(t, ['--database-url', dbUrl]);
  const wrongLdapPassword = path.join(dir, 'wrong-ldap-password');
  await writeFile(wrongLdapPassword, 'not-the-password\n');
  const gcsCfg = { ...good, logs: { store: 'gcs', spoolDir }, gcs: { bucket: 'tandem-logs', prefix: 'logs/', apiEndpoint: gcs.url, projectId: 'test' } };
  const invalid = path.join(dir, 'invalid.yaml');
  await writeFile(invalid, 'server:\n  port: "many"\n');
  const wrongDbUrl = dbUrl.replace(/:\/\/([^:]+):[^@]+@/, '://$1:wrong-password@');
  const [goodRun, badDb, badLdap, noDir, gcsOk, gcsMissing, invalidRun, badTimeout] = await Promise.all([
    // A real job server of this site answers `sites.a.url`.
    writeConfig('good.yaml', { ...good, site: 'a', sites: { a: { databaseUrl: dbUrl, url: server.url } } }).then((f) => configCheck(['--config', f], env)),
    writeConfig('bad-db.yaml', { ...good, database: { url: wrongDbUrl } }).then((f) => configCheck(['--config', f], env)),
    writeConfig('good-again.yaml', good).then((f) => configCheck(['--config', f], { TANDEM_AUTH_LDAP_BIND_PASSWORD_FILE: wrongLdapPassword })),
    writeConfig('no-dir.yaml', { ...good, logs: { store: 'filesystem', dir: path.join(dir, 'nope') } }).then((f) => configCheck(['--config', f], env)),
    writeConfig('gcs.yaml', gcsCfg).then((f) => configCheck(['--config', f], env)),
    writeConfig('gcs-missing.yaml', { ...gcsCfg, gcs: { ...gcsCfg.gcs, bucket: 'no-such-bucket' } }).then((f) => configCheck(['--config', f], env)),
    configCheck(['--config', invalid]),
    configCheck(['--timeout', 'soon']),
  ]);

  t.test('a good configuration passes every item', async (t) => {
    const r = goodRun;
    t.equal(r.code, 0, `exit 0\n${r.stdout}${r.stderr}`);
    t.match(line(r.stdout, 'config'), /^ok +config +.*good\.yaml is valid; this is site a of a/);
    t.match(line(r.stdout, 'database'), /^ok +database +postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/site_a: PostgreSQL \d+.* wal_level=logical, \d+ migrations applied/);
    t.match(line(r.stdout, `ldap ${ldap.url}`), new RegExp(`^ok +ldap ${ldap.url.replace(/[/.]/g, '\\$&')} +bound as ${SERVICE_DN}; userBase and groupBase found`));
    t.match(line(r.stdout, 'log dir'), new RegExp(`^ok +log dir +${logDir.replace(/[/.]/g, '\\$&')}: writable`));
    t.match(line(r.stdout, 'site a database'), /^ok /);
    t.match(line(r.stdout, 'site a url'), /^ok +site a url +http:\/\/127\.0\.0\.1:\d+\/health\/live: 200/);
    t.match(r.stdout, /all 7 checks passed/);
    t.notMatch(r.stdout + r.stderr, /postgres:postgres@|fixture-pw/, 'no password printed');
  });

  t.test('a wrong database password is reported by name, exit 1', async (t) => {
    const r = badDb;
    t.equal(r.code, 1, 'exit 1');
    t.match(line(r.stdout, 'database'), /^FAIL +database +postgres:\/\/postgres:\*\*\*@.*password authentication failed for user "postgres"/);
    t.match(line(r.stdout, `ldap ${ldap.url}`), /^ok /, 'the other items are still checked');
    t.match(r.stdout, /1 of 5 checks failed: database/);
    t.notMatch(r.stdout, /wrong-password/, 'the password is not printed');
  });

  t.test('a wrong LDAP bind password is reported by name, exit 1', async (t) => {
    const r = badLdap;
    t.equal(r.code, 1, 'exit 1');
    t.match(line(r.stdout, `ldap ${ldap.url}`), /^FAIL +ldap ldap:\/\/\S+ +invalid credentials \(wrong auth\.ldap\.bindDn or bindPassword\) \(LDAP result 49\)$/);
    t.notMatch(r.stdout, /not-the-password/);
  });

  t.test('a missing log directory is reported by name, exit 1', async (t) => {
    const r = noDir;
    t.equal(r.code, 1, 'exit 1');
    t.match(line(r.stdout, 'log dir'), /^FAIL +log dir +logs\.dir .*nope does not exist/);
    t.match(r.stdout, /1 of 5 checks failed: log dir/);
  });

  t.test('the GCS store: the bucket and the spool directory are checked', async (t) => {
    t.equal(gcsOk.code, 0, `exit 0\n${gcsOk.stdout}${gcsOk.stderr}`);
    t.match(line(gcsOk.stdout, 'log bucket'), /^ok +log bucket +gs:\/\/tandem-logs\/logs\/: listed, wrote and deleted a probe object/);
    t.match(line(gcsOk.stdout, 'log spool dir'), /^ok /);
    const [left] = await gcs.storage().bucket('tandem-logs').getFiles();
    t.same(left.map((f) => f.name), [], 'the probe object was deleted');
    t.equal(gcsMissing.code, 1, 'missing bucket: exit 1');
    t.match(line(gcsMissing.stdout, 'log bucket'), /^FAIL +log bucket +gs:\/\/no-such-bucket\/logs\/: .*(not exist|not found)/i);
  });

  t.test('an invalid configuration fails at the config item, exit 1', async (t) => {
    t.equal(invalidRun.code, 1);
    t.match(line(invalidRun.stdout, 'config'), /^FAIL +config +server\.port: expected an integer/);
  });

  t.test('a bad --timeout is a usage error', async (t) => {
    t.equal(badTimeout.code, 2);
    t.match(badTimeout.stderr, /--timeout: expected a duration/);
  });

  await t.test('LDAP down is reported by name, exit 1; --json gives every item in order', async (t) => {
    await ldap.stop();
    const [down, json] = await Promise.all([
      writeConfig('ldap-down.yaml', { ...good, auth: { ldap: { ...ldapCfg, timeoutMs: 2000 } } }).then((f) => configCheck(['--config', f], env)),
      writeConfig('json.yaml', { ...good, logs: { store: 'filesystem', dir: path.join(dir, 'nope') } }).then((f) => configCheck(['--config', f, '--json'], env)),
    ]);
    t.equal(down.code, 1, 'exit 1');
    t.match(line(down.stdout, `ldap ${ldap.url}`), /^FAIL +ldap ldap:\/\/127\.0\.0\.1:\d+\/ +.*(ECONNREFUSED|connect)/);
    t.match(line(down.stdout, 'database'), /^ok /, 'the database is still checked');
    t.match(down.stdout, /1 of 5 checks failed: ldap/);

    t.equal(json.code, 1);
    const doc = JSON.parse(json.stdout) as { ok: boolean; results: Array<{ item: string; status: string; detail: string }> };
    t.equal(doc.ok, false);
    t.same(
      doc.results.map((x) => [x.item, x.status]),
      [['config', 'ok'], ['database', 'ok'], [`ldap ${ldap.url}`, 'fail'], ['log dir', 'fail'], ['key storage', 'skip']],
      'every item, in order',
    );
  });
});
