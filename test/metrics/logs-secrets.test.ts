/**
 * Structured logs of a realistic workload, captured whole: a job server on a
 * database URL with a password, LDAP logins with the fixture passwords
 * (right and wrong), a session, API tokens created and used, a job with a
 * secure option, and a replicator between two databases whose URLs carry
 * passwords. Every line must be one JSON object with level, time, component
 * (and the request or execution id where it is about one), and no password,
 * token, cookie or secure value may appear anywhere in the output.
 */
import t from 'tap';
import { loadConfig } from '../../server/config/load.js';
import { migrate } from '../../server/db/migrate.js';
import { startJobServer } from '../../server/app/job-server.js';
import { createToken } from '../../server/auth/tokens.js';
import { createLogger } from '../../server/log.js';
import { runReplicator } from '../../replicator/index.js';
import { withReplicatorMetrics } from '../../replicator/metrics/run-with-metrics.js';
import { startPostgres } from '../harness/postgres.js';
import { startLdap, SERVICE_DN, SERVICE_PASSWORD, BASE_DN, ADMIN_PASSWORD, users } from '../harness/ldap.js';
import { tempDir } from '../harness/tmp.js';
import { waitFor } from '../server/helpers.js';
import { scrape, suspiciousLabels } from './scrape.js';
import { testPool } from '../harness/pool.js';

const DB_PASSWORD = 'db-fixture-pw-Zq81';
const WRONG_PASSWORD = 'wrong-fixture-pw-7Hk';
const SECURE_VALUE = 'secure-option-fixture-Pq3';

t.test('a full workload logs one JSON object per event and never a secret', async (t) => {
  const lines: string[] = [];
  const log = createLogger({ component: 'server' }, { level: 'debug', format: 'json', write: (l) => lines.push(l) });

  const pgs = await startPostgres(t, { name: 'logs-secrets' });
  await pgs.query(`create role tandem_app login superuser password '${DB_PASSWORD}'`);
  const withPassword = (url: string) => {
    const u = new URL(url);
    u.username = 'tandem_app';
    u.password = DB_PASSWORD;
    return u.toString();
  };
  const dbUrl = withPassword(await pgs.createDatabase('tandem'));
  const replicaUrl = withPassword(await pgs.createDatabase('replica'));
  await migrate(dbUrl, { log });
  await migrate(replicaUrl, { log });
  const ldap = await startLdap(t);
  const config = loadConfig({
    env: {},
    file: '',
    overrides: {
      'database.url': dbUrl,
      'server.port': 0,
      'server.host': '127.0.0.1',
      'logs.dir': await tempDir(t, 'logs'),
      'scheduler.enabled': false,
      site: 'a',
      'auth.ldap.urls': [ldap.url],
      'auth.ldap.bindDn': SERVICE_DN,
      'auth.ldap.bindPassword': SERVICE_PASSWORD,
      'auth.ldap.userBase': `ou=people,${BASE_DN}`,
      'auth.ldap.groupBase': `ou=groups,${BASE_DN}`,
      'auth.ldap.roleMap': 'ops=admin',
      'auth.ldap.nestedGroups': true,
    },
  });
  const server = await startJobServer({ config, log });
  t.teardown(() => server.stop());
  const pool = testPool(t, { connectionString: dbUrl, max: 2 });
  const admin = await createToken(pool, { user: 'admin', roles: ['admin'] });

  const secrets = [DB_PASSWORD, SERVICE_PASSWORD, ADMIN_PASSWORD, WRONG_PASSWORD, SECURE_VALUE, admin.token, ...Object.values(users).map((u) => u.password)];
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

  // LDAP logins: success, wrong password, unknown user, non-ASCII password.
  const login = await post('/auth/login', { username: 'alice', password: users.alice.password });
  t.equal(login.status, 200, 'alice logs in through LDAP');
  const session = (await login.json()) as { csrfToken: string };
  const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
  secrets.push(cookie.split('=')[1]!, session.csrfToken);
  t.equal((await post('/auth/login', { username: 'bob', password: WRONG_PASSWORD })).status, 401, 'wrong password refused');
  t.equal((await post('/auth/login', { username: 'nobody', password: WRONG_PASSWORD })).status, 401, 'unknown user refused');
  t.equal((await post('/auth/login', { username: users.muller.uid, password: users.muller.password })).status, 200, 'non-ASCII login');

  // Tokens created through the session (CSRF header) and used.
  const created = await post('/api/v1/tokens', { description: 'ci', expires: '30d' }, { cookie, 'x-csrf-token': session.csrfToken });
  t.equal(created.status, 201, 'token created');
  const tokenSecret = ((await created.json()) as { token: string }).token;
  t.ok(tokenSecret, 'the answer carries the secret once');
  secrets.push(tokenSecret);
  const auth = { authorization: `Bearer ${tokenSecret}` };
  t.equal((await post('/api/v1/projects', { name: 'ops' }, auth)).status, 201);
  const imported = await post(
    '/api/v1/projects/ops/jobs',
    [{ name: 'deploy', options: [{ name: 'pw', secure: true }], sequence: { commands: [{ exec: 'echo "deploying with ${option.pw}"; test -n "$TANDEM_OPTION_PW"' }] } }],
    auth,
  );
  t.equal(imported.status, 201);
  const jobId = ((await imported.json()) as { jobs: Array<{ id: string }> }).jobs[0]!.id;
  const run = await post(`/api/v1/jobs/${jobId}/run`, { options: { pw: SECURE_VALUE } }, auth);
  t.equal(run.status, 201);
  const runId = ((await run.json()) as { id: string }).id;
  await waitFor('the execution to end', async () => {
    const r = await fetch(`${server.url}/api/v1/executions/${runId}`, { headers: auth });
    return ((await r.json()) as { status: string }).status === 'succeeded';
  });
  t.equal((await fetch(`${server.url}/api/v1/projects`, { headers: { authorization: 'Bearer tdm_not-a-real-token' } })).status, 401, 'bad token refused');

  // The replicator, with its metrics listener, between two databases reached with passwords.
  const res = await withReplicatorMetrics({ listen: { host: '127.0.0.1', port: 0 }, sourceUrl: dbUrl, targetUrl: replicaUrl, slot: 'logs_secrets', log: log.child({ component: 'replicate' }) }, (metrics) =>
    runReplicator({ sourceUrl: dbUrl, targetUrl: replicaUrl, slot: 'logs_secrets', untilCaughtUp: true, log: log.child({ component: 'replicate' }), metrics }),
  );
  t.equal(res.reason, 'caught_up');

  // Login metrics: by source and reason, never by user name.
  const m = await scrape(server.url);
  t.equal(m.sum('tandem_login_failures_total', { source: 'ldap', reason: 'bad_credentials' }) + m.sum('tandem_login_failures_total', { source: 'ldap', reason: 'unknown_user' }), 2, 'two LDAP failures counted');
  t.equal(m.sum('tandem_login_duration_seconds_count', { source: 'ldap', outcome: 'success' }), 2, 'two LDAP logins timed');
  t.same(suspiciousLabels(m, ['alice', 'bob', 'nobody', 'müller']), [], 'no user name or id in any label');

  await server.stop();
  const output = lines.join('\n');
  t.ok(lines.length > 30, `${lines.length} log lines captured`);
  for (const s of secrets) t.notOk(output.includes(s), `never logged: ${s.slice(0, 4)}…`);
  t.notOk(/tdm_[A-Za-z0-9_-]{20,}/.test(output), 'no API token of any kind');

  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.ok(parsed.every((r) => typeof r.level === 'string' && typeof r.msg === 'string' && typeof r.component === 'string' && !Number.isNaN(Date.parse(r.time as string))), 'every line has level, time, component and msg');
  const requests = parsed.filter((r) => r.msg === 'request');
  t.ok(requests.length >= 10 && requests.every((r) => typeof r.requestId === 'string' && r.site === 'a'), `one line per request with its request id and site (${requests.length})`);
  const ended = parsed.find((r) => r.msg === 'execution ended');
  t.equal(ended?.executionId, runId, 'execution lines carry the execution id');
  t.equal(ended?.site, 'a', 'and the site');
  const failed = parsed.filter((r) => r.msg === 'login failed');
  t.equal(failed.length, 2, 'each failed login logged once');
  t.ok(parsed.some((r) => r.component === 'replicate' && r.msg === 'caught up with the source'), 'replicator lines are there too');
});

t.test('human-readable lines for a terminal, JSON otherwise', async (t) => {
  const out: string[] = [];
  const pretty = createLogger({ component: 'server', site: 'a' }, { format: 'pretty', write: (l) => out.push(l) });
  pretty.warn('log upload failed', { key: 'ops/x.log', password: 'hunter2' });
  t.match(out[0], /^\d\d:\d\d:\d\d\.\d{3} WARN  log upload failed \{.*"component":"server".*"site":"a".*\}$/, 'time, level, message, then the fields');
  t.notMatch(out[0], /hunter2/, 'a field named like a secret is redacted');
  const json: string[] = [];
  createLogger({ component: 'server' }, { format: 'json', write: (l) => json.push(l) }).info('x', { token: 'tdm_abc', error: new Error('boom') });
  const rec = JSON.parse(json[0]!);
  t.same([rec.level, rec.component, rec.msg, rec.token, rec.error.message], ['info', 'server', 'x', '[redacted]', 'boom']);
});
