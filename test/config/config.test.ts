import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig, envName, requireKeys } from '../../server/config/load.js';
import { TandemError } from '../../server/errors.js';
import { tempDir } from '../harness/tmp.js';

t.test('environment variable names', async (t) => {
  t.equal(envName('database.url'), 'TANDEM_DATABASE_URL');
  t.equal(envName('auth.ldap.bindDn'), 'TANDEM_AUTH_LDAP_BIND_DN');
  t.equal(envName('server.bodyLimit'), 'TANDEM_SERVER_BODY_LIMIT');
});

t.test('defaults, file, environment and flags overlay in that order', async (t) => {
  const dir = await tempDir(t, 'config');
  const file = path.join(dir, 'tandem.yaml');
  writeFileSync(file, 'server:\n  port: 5000\n  host: 0.0.0.0\ndatabase:\n  url: postgres://file@127.0.0.1/db\n');
  const defaults = loadConfig({ env: {} , file: undefined });
  t.equal(defaults.server.port, 4440, 'default port');
  const fromFile = loadConfig({ file, env: {} });
  t.equal(fromFile.server.port, 5000);
  t.equal(fromFile.server.host, '0.0.0.0');
  const fromEnv = loadConfig({ file, env: { TANDEM_SERVER_PORT: '6000' } });
  t.equal(fromEnv.server.port, 6000, 'env overrides file');
  t.equal(fromEnv.database.url, 'postgres://file@127.0.0.1/db', 'file value kept where env is silent');
  const fromFlag = loadConfig({ file, env: { TANDEM_SERVER_PORT: '6000' }, flags: { 'server.port': '7000' } });
  t.equal(fromFlag.server.port, 7000, 'flag overrides env');
});

t.test('secrets from _FILE variables', async (t) => {
  const dir = await tempDir(t, 'config');
  const secret = path.join(dir, 'bind-pw');
  writeFileSync(secret, 's3cret-from-file\n');
  const cfg = loadConfig({ env: { TANDEM_AUTH_LDAP_BIND_PASSWORD_FILE: secret } });
  t.equal(cfg.auth.ldap.bindPassword, 's3cret-from-file', 'trailing newline removed');
  t.throws(() => loadConfig({ env: { TANDEM_AUTH_LDAP_BIND_PASSWORD_FILE: path.join(dir, 'missing') } }), {
    message: /auth\.ldap\.bindPassword: cannot read TANDEM_AUTH_LDAP_BIND_PASSWORD_FILE/,
  });
});

t.test('typed values and their errors name the key', async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ TANDEM_SERVER_PORT: '70000' }, /^server\.port: must be at most 65535/],
    [{ TANDEM_SERVER_TRUST_PROXY: 'maybe' }, /^server\.trustProxy: expected true or false/],
    [{ TANDEM_LOGS_STORE: 's3' }, /^logs\.store: expected one of filesystem, gcs/],
    [{ TANDEM_SERVER_DRAIN_TIMEOUT: 'soon' }, /^server\.drainTimeout: expected a duration/],
    [{ TANDEM_DATABASE_URL: 'http://x' }, /^database\.url: not a postgres:\/\/ URL/],
  ];
  for (const [env, re] of cases) {
    try {
      loadConfig({ env });
      t.fail(`accepted ${JSON.stringify(env)}`);
    } catch (e) {
      t.ok(e instanceof TandemError && e.code === 'invalid_config', 'invalid_config error');
      t.match((e as Error).message, re);
    }
  }
  const ok = loadConfig({ env: { TANDEM_SERVER_DRAIN_TIMEOUT: '5m', TANDEM_SERVER_BODY_LIMIT: '2mb', TANDEM_AUTH_LDAP_URLS: 'ldap://a, ldap://b' } });
  t.equal(ok.server.drainTimeout, 300_000);
  t.equal(ok.server.bodyLimit, 2 * 1024 * 1024);
  t.same(ok.auth.ldap.urls, ['ldap://a', 'ldap://b']);
});

t.test('file errors: unknown keys, wrong types, bad YAML', async (t) => {
  const dir = await tempDir(t, 'config');
  const write = (text: string) => {
    const f = path.join(dir, `c${Math.random()}.yaml`);
    writeFileSync(f, text);
    return f;
  };
  t.throws(() => loadConfig({ env: {}, file: write('server:\n  prot: 1\n') }), { message: /^server\.prot: unknown setting/ });
  t.throws(() => loadConfig({ env: {}, file: write('server: 5\n') }), { message: /^server: expected a mapping/ });
  t.throws(() => loadConfig({ env: {}, file: write('server:\n  port: [1\n') }), { message: /:\d+:\d+: invalid YAML/ });
  t.throws(() => loadConfig({ env: {}, file: write('server:\n  port: true\n') }), { message: /^server\.port: expected an integer/ });
});

t.test('sites map and site name', async (t) => {
  const dir = await tempDir(t, 'config');
  const f = path.join(dir, 'sites.yaml');
  writeFileSync(
    f,
    'site: a\nsites:\n  a: { databaseUrl: "postgres://u@h1/db", url: "http://host-a:4440/" }\n  b: { databaseUrl: "postgres://u@h2/db", url: "http://host-b:4440" }\n',
  );
  const cfg = loadConfig({ env: {}, file: f });
  t.equal(cfg.site, 'a');
  t.same(cfg.sites?.a, { databaseUrl: 'postgres://u@h1/db', url: 'http://host-a:4440' });
  writeFileSync(f, 'site: c\nsites:\n  a: { databaseUrl: "postgres://u@h1/db", url: "http://host-a:4440" }\n');
  t.throws(() => loadConfig({ env: {}, file: f }), { message: /^site: "c" is not one of sites \(a\)/ });
  writeFileSync(f, 'sites:\n  a: { databaseUrl: "mysql://u@h1/db", url: "http://host-a:4440" }\n');
  t.throws(() => loadConfig({ env: {}, file: f }), { message: /^sites: a\.databaseUrl: not a postgres:\/\/ URL/ });
});

t.test('requireKeys names the key and how to set it', async (t) => {
  const cfg = loadConfig({ env: {} });
  t.throws(() => requireKeys(cfg, ['database.url']), { message: /database\.url: is required \(set it with --database-url, TANDEM_DATABASE_URL/ });
});

t.test('without --config: tandem.yaml in the working directory, else defaults; a missing --config file is an error', async (t) => {
  const dir = await tempDir(t, 'config');
  const withFile = path.join(dir, 'with-file');
  const empty = path.join(dir, 'empty');
  mkdirSync(withFile);
  mkdirSync(empty);
  writeFileSync(path.join(withFile, 'tandem.yaml'), 'server:\n  port: 5001\ndatabase:\n  url: postgres://cwd@127.0.0.1/db\n');
  const other = path.join(dir, 'other.yaml');
  writeFileSync(other, 'server:\n  host: 0.0.0.0\n');
  // The working directory is this test process's own (tap runs each file in its own process); restored below.
  const cwd = process.cwd();
  t.teardown(() => process.chdir(cwd));

  process.chdir(withFile);
  const fromCwd = loadConfig({ env: {} });
  t.equal(fromCwd.server.port, 5001, 'tandem.yaml in the working directory is read');
  t.equal(fromCwd.database.url, 'postgres://cwd@127.0.0.1/db');
  const named = loadConfig({ env: {}, file: other });
  t.same([named.server.host, named.server.port, named.database.url], ['0.0.0.0', 4440, undefined], '--config FILE is read instead of it, not on top of it');
  t.equal(loadConfig({ env: {}, file: '' }).server.port, 4440, "file: '' reads no file at all (what tests and the demo use)");
  t.equal(loadConfig({ env: { TANDEM_SERVER_PORT: '6001' } }).server.port, 6001, 'the environment still overrides it');

  process.chdir(empty);
  const defaults = loadConfig({ env: {} });
  t.same([defaults.server.port, defaults.server.host, defaults.database.url], [4440, '127.0.0.1', undefined], 'neither: the defaults');

  const missing = path.join(dir, 'missing.yaml');
  try {
    loadConfig({ env: {}, file: missing });
    t.fail('a missing --config file was accepted');
  } catch (e) {
    t.ok(e instanceof TandemError && e.code === 'invalid_config', 'invalid_config error');
    t.match((e as Error).message, `cannot read config file ${missing}: ENOENT`, 'names the file and why');
  }
});
