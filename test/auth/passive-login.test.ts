/**
 * Logging in on a site that is not active (issue #7, passive mode): the
 * session is kept in the site's own `tandem_site.local_sessions` (the
 * replicated `tandem.sessions` cannot be written there), it reads but every
 * change made with it is refused (503 site_passive; 401 once the site has
 * been promoted), logout deletes it, it expires and is cleaned up like a
 * normal session, and the login's audit event goes to the server log, never
 * into the replicated audit table.
 *
 * The site is made passive as a failover leaves it: a `tandem_site.site` row
 * with role passive and read-only transactions by default for new sessions.
 * (test/auth/passive-login-sites.test.ts does the same across two real sites
 * with replication.)
 */
import t from 'tap';
import path from 'node:path';
import { startPostgres } from '../harness/postgres.js';
import { tempDir, type Teardown } from '../harness/tmp.js';
import { hashPassword } from '../../server/auth/password.js';
import { writeUsersFile } from '../../server/auth/local/users-file.js';
import { migrate } from '../../server/db/migrate.js';
import { createLogger } from '../../server/log.js';
import { writableUrl } from '../../server/site/connect.js';
import { call, startAuthApp, waitFor } from './helpers.js';
import { login } from './session.js';
import { testPool } from '../harness/pool.js';

const pgs = await startPostgres(t, { name: 'passive-login' });
const FAST = { N: 1024 };
const ACTIVE_URL = 'https://tandem-a.example.org';

async function usersFile(t: Teardown): Promise<string> {
  const dir = await tempDir(t, 'users');
  const file = path.join(dir, 'users.yaml');
  writeUsersFile(
    file,
    new Map([
      ['root', { password: await hashPassword('root-pw', FAST), roles: ['admin'] }],
      ['dora', { password: await hashPassword('dora-pw', FAST), roles: ['user'] }],
    ]),
  );
  return file;
}

let n = 0;
/** A migrated database in the state a failover leaves a passive site in; `q` writes whatever the role. */
async function passiveDatabase(t: Teardown, role: 'passive' | 'fenced' = 'passive') {
  const url = await pgs.createDatabase(`passive_login_${++n}`);
  await migrate(url);
  const admin = testPool(t, { connectionString: writableUrl(url), max: 2 });
  await admin.query(`insert into tandem_site.site (name, role, epoch, active_site, active_url) values ('b', $1, 1, 'a', $2)`, [role, ACTIVE_URL]);
  await admin.query(`do $$ begin execute format('alter database %I set default_transaction_read_only = on', current_database()); end $$`);
  const count = async (table: string) => (await admin.query<{ n: number }>(`select count(*)::int as n from ${table}`)).rows[0]!.n;
  return { url, q: (sql: string, params?: unknown[]) => admin.query(sql, params), count };
}

/** A logger whose JSON lines the test can read. */
function capturedLog() {
  const lines: Record<string, any>[] = [];
  const log = createLogger({}, { format: 'json', level: 'info', write: (l) => lines.push(JSON.parse(l)) });
  return { log, lines };
}

t.test('a login on a passive site gets a read-only session kept on the site', async (t) => {
  const file = await usersFile(t);
  const db = await passiveDatabase(t);
  const { log, lines } = capturedLog();
  const app = await startAuthApp(t, pgs, { 'auth.usersFile': file }, { databaseUrl: db.url, log });
  t.equal((await app.pool.query('show default_transaction_read_only')).rows[0].default_transaction_read_only, 'on', "the application's sessions are read-only by default");
  const auditBefore = await db.count('tandem.audit_events');

  const l = await login(app.url, 'dora', 'dora-pw');
  t.equal(l.status, 200, `login answers 200 (${JSON.stringify(l.body)})`);
  t.equal(l.body.readOnly, true, 'the answer says the session is read-only');
  t.equal(l.body.siteRole, 'passive');
  t.ok(l.body.csrfToken, 'with a CSRF token');
  const s = l.session!;
  t.match(s.setCookie, /HttpOnly/);

  t.equal(await db.count('tandem.sessions'), 0, 'nothing written to the replicated session table');
  const rows = (await db.q('select id_hash, username, roles, site_role from tandem_site.local_sessions')).rows;
  t.equal(rows.length, 1, 'the session is in the site-local table');
  t.same({ username: rows[0].username, roles: rows[0].roles, site_role: rows[0].site_role }, { username: 'dora', roles: ['user'], site_role: 'passive' });
  t.not(rows[0].id_hash, s.cookie.split('=')[1], 'stored by hash only');

  // Reads.
  const me = await call(`${app.url}/api/v1/me`, { cookie: s.cookie });
  t.equal(me.status, 200);
  t.same({ user: me.body.user, via: me.body.via, readOnly: me.body.readOnly }, { user: 'dora', via: 'session', readOnly: true });
  t.equal(me.body.csrfToken, s.csrfToken);
  const read = await call(`${app.url}/api/v1/projects/ops/jobs/deploy`, { cookie: s.cookie });
  t.equal(read.status, 200, 'a read through a route that checks the ACL');

  // Changes: CSRF first, then refused as every write on a passive site, whatever the route (even one that would not write).
  const noCsrf = await call(`${app.url}/api/v1/projects/ops/jobs/deploy/run`, { method: 'POST', cookie: s.cookie });
  t.equal(noCsrf.status, 403);
  t.equal(noCsrf.body.error.code, 'csrf_failed');
  for (const [method, url] of [
    ['POST', '/api/v1/projects/ops/jobs/deploy/run'],
    ['DELETE', '/api/v1/projects/ops/jobs/deploy'],
    ['POST', '/api/v1/tokens'],
  ] as const) {
    const w = await call(`${app.url}${url}`, { method, cookie: s.cookie, headers: { 'x-csrf-token': s.csrfToken }, body: method === 'POST' ? {} : undefined });
    t.equal(w.status, 503, `${method} ${url} → 503`);
    t.equal(w.body.error.code, 'site_passive');
    t.equal(w.body.error.activeSite, ACTIVE_URL, 'naming the active site');
  }

  // Audit: never in the replicated table on this site; the server log has the event.
  t.equal(await db.count('tandem.audit_events'), auditBefore, 'no row added to the replicated audit table');
  const audited = lines.filter((l) => l.audit === true);
  t.ok(audited.some((l) => l.event === 'login' && l.outcome === 'success' && l.user === 'dora' && l.siteRole === 'passive'), 'the login is audited in the server log');
  t.notOk(JSON.stringify(lines).includes('dora-pw'), 'no password in the log');
  t.notOk(JSON.stringify(lines).includes(s.cookie.split('=')[1]!), 'no cookie value in the log');

  // A failed login on a passive site: 401 (not a failed audit write), audited in the log.
  const bad = await login(app.url, 'dora', 'wrong');
  t.equal(bad.status, 401);
  t.equal(bad.body.error.code, 'unauthorized');
  t.ok(lines.some((l) => l.audit === true && l.event === 'login' && l.outcome === 'failure' && l.details?.reason === 'bad_credentials'), 'the failure is audited in the log');

  // Logout (needs the CSRF token as usual): the row is deleted and the cookie stops working.
  const refused = await call(`${app.url}/auth/logout`, { method: 'POST', cookie: s.cookie });
  t.equal(refused.status, 403, 'logout without CSRF token refused');
  const out = await call(`${app.url}/auth/logout`, { method: 'POST', cookie: s.cookie, headers: { 'x-csrf-token': s.csrfToken } });
  t.equal(out.status, 204);
  t.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/, 'the cookie is cleared');
  t.equal(await db.count('tandem_site.local_sessions'), 0, 'the session row is deleted');
  const after = await call(`${app.url}/api/v1/me`, { cookie: s.cookie });
  t.equal(after.status, 401);
  t.match(after.body.error.message, /session expired or unknown/);
  t.ok(lines.some((l) => l.audit === true && l.event === 'logout' && l.user === 'dora'), 'the logout is audited in the log');
  t.equal(await db.count('tandem.audit_events'), auditBefore, 'still nothing in the replicated audit table');
});

t.test('a fenced site too; a form login redirects', async (t) => {
  const file = await usersFile(t);
  const db = await passiveDatabase(t, 'fenced');
  const app = await startAuthApp(t, pgs, { 'auth.usersFile': file }, { databaseUrl: db.url });
  const res = await fetch(`${app.url}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'username=root&password=root-pw&next=%2Fapi%2Fv1%2Fme',
    redirect: 'manual',
  });
  t.equal(res.status, 303);
  t.equal(res.headers.get('location'), '/api/v1/me');
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const me = await call(`${app.url}/api/v1/me`, { cookie });
  t.equal(me.status, 200);
  t.equal(me.body.readOnly, true);
  t.same((await db.q('select site_role from tandem_site.local_sessions')).rows, [{ site_role: 'fenced' }]);
});

t.test('site-local sessions expire and are cleaned up like normal ones; their idle expiry moves on use', async (t) => {
  const file = await usersFile(t);
  const db = await passiveDatabase(t);
  const app = await startAuthApp(t, pgs, { 'auth.usersFile': file, 'auth.sessionIdleTimeout': 2000 }, { databaseUrl: db.url });

  // Used: last_seen_at moves forward (granularity 200 ms at a 2 s idle timeout), in a read-write transaction of its own.
  const used = (await login(app.url, 'root', 'root-pw')).session!;
  const seen = async () => (await db.q('select last_seen_at from tandem_site.local_sessions')).rows[0].last_seen_at.getTime() as number;
  const first = await seen();
  await waitFor('the session to need a touch', async () => (await db.q("select now() - last_seen_at > interval '300 milliseconds' as old from tandem_site.local_sessions")).rows[0]?.old);
  t.equal((await call(`${app.url}/api/v1/me`, { cookie: used.cookie })).status, 200);
  t.ok((await seen()) > first, 'using the session pushed its idle expiry forward');

  // Idle past the timeout: refused.
  await waitFor('the session to be idle for the timeout', async () => (await db.q("select now() - last_seen_at > interval '2 seconds' as idle from tandem_site.local_sessions")).rows[0]?.idle);
  const r = await call(`${app.url}/api/v1/me`, { cookie: used.cookie });
  t.equal(r.status, 401);
  t.match(r.body.error.message, /session expired/);
  t.equal(await db.count('tandem_site.local_sessions'), 1, 'the expired row is still there until a cleanup');

  // The next login of a member that has not cleaned up this minute deletes it (and keeps the new one).
  const other = await startAuthApp(t, pgs, { 'auth.usersFile': file, 'auth.sessionIdleTimeout': 2000 }, { databaseUrl: db.url });
  const fresh = (await login(other.url, 'root', 'root-pw')).session!;
  t.equal(await db.count('tandem_site.local_sessions'), 1, 'the expired session was deleted at the next login');
  t.equal((await call(`${other.url}/api/v1/me`, { cookie: fresh.cookie })).status, 200);
  t.equal((await call(`${app.url}/api/v1/me`, { cookie: fresh.cookie })).status, 200, 'valid on every member of the site (same database)');

  // Absolute expiry.
  const abs = await startAuthApp(t, pgs, { 'auth.usersFile': file, 'auth.sessionAbsoluteTimeout': 2000 }, { databaseUrl: db.url });
  const s = (await login(abs.url, 'dora', 'dora-pw')).session!;
  t.match(s.setCookie, /Max-Age=2$/);
  await waitFor('absolute expiry', async () => (await call(`${abs.url}/api/v1/me`, { cookie: s.cookie })).status === 401);
  t.pass('the session ended at its absolute expiry while in use');
});

t.test('after a promotion: a site-local session still reads but must log in again to change anything', async (t) => {
  const file = await usersFile(t);
  const db = await passiveDatabase(t);
  const app = await startAuthApp(t, pgs, { 'auth.usersFile': file }, { databaseUrl: db.url });
  const local = (await login(app.url, 'dora', 'dora-pw')).session!;

  // Promote the site as the failover command does: role active, read-write default, idle sessions reconnect.
  await db.q(`update tandem_site.site set role = 'active', epoch = 2, active_site = 'b', active_url = null`);
  await db.q(`do $$ begin execute format('alter database %I reset default_transaction_read_only', current_database()); end $$`);
  const promoted = await startAuthApp(t, pgs, { 'auth.usersFile': file }, { databaseUrl: db.url });

  t.equal((await call(`${promoted.url}/api/v1/me`, { cookie: local.cookie })).status, 200, 'the site-local session still reads');
  const w = await call(`${promoted.url}/api/v1/projects/ops/jobs/deploy/run`, { method: 'POST', cookie: local.cookie, headers: { 'x-csrf-token': local.csrfToken } });
  t.equal(w.status, 401, 'a change with it is refused');
  t.match(w.body.error.message, /log in again/);

  // A login now gets a normal, replicated session that may change things, audited in the replicated table.
  const l = await login(promoted.url, 'dora', 'dora-pw');
  t.equal(l.status, 200);
  t.notOk(l.body.readOnly, 'a normal session');
  t.equal(await db.count('tandem.sessions'), 1, 'in the replicated table');
  const run = await call(`${promoted.url}/api/v1/projects/ops/jobs/deploy/run`, { method: 'POST', cookie: l.session!.cookie, headers: { 'x-csrf-token': l.session!.csrfToken } });
  t.equal(run.status, 201);
  t.equal(await db.count(`tandem.audit_events where event = 'login' and outcome = 'success'`), 1, 'that login is in the replicated audit table');

  // Logging out of the site-local session still works on the now active site.
  const out = await call(`${promoted.url}/auth/logout`, { method: 'POST', cookie: local.cookie, headers: { 'x-csrf-token': local.csrfToken } });
  t.equal(out.status, 204);
  t.equal(await db.count('tandem_site.local_sessions'), 0);
});
