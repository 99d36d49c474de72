import t from 'tap';
import path from 'node:path';
import { startPostgres } from '../harness/postgres.js';
import { tempDir, type Teardown } from '../harness/tmp.js';
import { hashPassword } from '../../server/auth/password.js';
import { writeUsersFile } from '../../server/auth/local/users-file.js';
import { createToken } from '../../server/auth/tokens.js';
import { call, startAuthApp, waitFor } from './helpers.js';
import { login } from './session.js';

const pgs = await startPostgres(t, { name: 'sessions' });
// Cheap hashes keep this file quick on a busy machine; the parameters travel with each hash.
const FAST = { N: 1024 };

async function usersFile(t: Teardown): Promise<string> {
  const dir = await tempDir(t, 'users');
  const file = path.join(dir, 'users.yaml');
  writeUsersFile(
    file,
    new Map([
      ['root', { password: await hashPassword('root-pw', FAST), roles: ['admin'] }],
      ['dora', { password: await hashPassword('dora-pw ü', FAST), roles: ['user'] }],
    ]),
  );
  return file;
}

t.test('local users, the login form, sessions and CSRF', async (t) => {
  const file = await usersFile(t);
  const app = await startAuthApp(t, pgs, { 'auth.usersFile': file });

  await t.test('GET /login serves a plain HTML form', async (t) => {
    const r = await fetch(`${app.url}/login?next=/api/v1/me`);
    t.equal(r.status, 200);
    t.match(r.headers.get('content-type'), /text\/html/);
    const html = await r.text();
    t.match(html, /<form method="post" action="\/auth\/login">/);
    t.match(html, /name="username"/);
    t.match(html, /type="password"/);
  });

  await t.test('a form post logs in and redirects; a failed form post shows the form again', async (t) => {
    const ok = await fetch(`${app.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'dora', password: 'dora-pw ü', next: '/api/v1/me' }).toString(),
      redirect: 'manual',
    });
    t.equal(ok.status, 303);
    t.equal(ok.headers.get('location'), '/api/v1/me');
    const cookie = ok.headers.get('set-cookie')!.split(';')[0]!;
    const me = await call(`${app.url}/api/v1/me`, { cookie });
    t.same({ user: me.body.user, roles: me.body.roles, via: me.body.via }, { user: 'dora', roles: ['user'], via: 'session' });
    const evil = await fetch(`${app.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'dora', password: 'dora-pw ü', next: '//evil.example/' }).toString(),
      redirect: 'manual',
    });
    t.equal(evil.headers.get('location'), '/', 'no open redirect to another site');
    const bad = await fetch(`${app.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=dora&password=nope',
      redirect: 'manual',
    });
    t.equal(bad.status, 401);
    t.match(await bad.text(), /wrong user name or password/);
  });

  await t.test('a cross-site login post is refused', async (t) => {
    const r = await call(`${app.url}/auth/login`, { method: 'POST', body: { username: 'dora', password: 'dora-pw ü' }, headers: { origin: 'https://evil.example' } });
    t.equal(r.status, 403);
    t.equal(r.body.error.code, 'csrf_failed');
  });

  await t.test('cookie-authenticated changes need the CSRF token or a same-origin header; token-authenticated ones do not', async (t) => {
    const s = (await login(app.url, 'dora', 'dora-pw ü')).session!;
    const without = await call(`${app.url}/api/v1/tokens`, { method: 'POST', cookie: s.cookie, body: {} });
    t.equal(without.status, 403);
    t.equal(without.body.error.code, 'csrf_failed');
    const wrong = await call(`${app.url}/api/v1/tokens`, { method: 'POST', cookie: s.cookie, body: {}, headers: { 'x-csrf-token': 'x'.repeat(32) } });
    t.equal(wrong.status, 403);
    const foreign = await call(`${app.url}/api/v1/tokens`, { method: 'POST', cookie: s.cookie, body: {}, headers: { origin: 'https://evil.example' } });
    t.equal(foreign.status, 403, 'a foreign Origin does not replace the token');
    const withToken = await call(`${app.url}/api/v1/tokens`, { method: 'POST', cookie: s.cookie, body: {}, headers: { 'x-csrf-token': s.csrfToken } });
    t.equal(withToken.status, 201);
    const sameOrigin = await call(`${app.url}/api/v1/tokens`, { method: 'POST', cookie: s.cookie, body: {}, headers: { origin: app.url } });
    t.equal(sameOrigin.status, 201, 'a same-origin page may post');
    const reads = await call(`${app.url}/api/v1/tokens`, { cookie: s.cookie });
    t.equal(reads.status, 200, 'reads need no CSRF token');
    const apiToken = withToken.body.token as string;
    const viaToken = await call(`${app.url}/api/v1/tokens`, { method: 'POST', token: apiToken, body: {} });
    t.equal(viaToken.status, 201, 'bearer tokens need no CSRF token');
  });

  await t.test('logout ends the session', async (t) => {
    const s = (await login(app.url, 'root', 'root-pw')).session!;
    const refused = await call(`${app.url}/auth/logout`, { method: 'POST', cookie: s.cookie, body: {} });
    t.equal(refused.status, 403, 'logout needs the CSRF token too');
    const out = await call(`${app.url}/auth/logout`, { method: 'POST', cookie: s.cookie, body: {}, headers: { 'x-csrf-token': s.csrfToken } });
    t.equal(out.status, 204);
    t.match(out.headers.get('set-cookie'), /tandem_session=; .*Max-Age=0/);
    t.equal((await call(`${app.url}/api/v1/me`, { cookie: s.cookie })).status, 401);
    const { rows } = await app.pool.query("select username from tandem.audit_events where event = 'logout'");
    t.same(rows, [{ username: 'root' }]);
  });

  await t.test('sessions live in the replicated schema, stored by hash only', async (t) => {
    const s = (await login(app.url, 'root', 'root-pw')).session!;
    const value = s.cookie.split('=')[1]!;
    const { rows } = await app.pool.query('select id_hash from tandem.sessions');
    t.ok(rows.length >= 1);
    t.notOk(rows.some((r) => r.id_hash === value), 'the cookie value itself is not stored');
  });
});

t.test('session expiry', async (t) => {
  const file = await usersFile(t);
  await t.test('idle expiry', async (t) => {
    const app = await startAuthApp(t, pgs, { 'auth.usersFile': file, 'auth.sessionIdleTimeout': 2000 });
    const s = (await login(app.url, 'dora', 'dora-pw ü')).session!;
    t.equal((await call(`${app.url}/api/v1/me`, { cookie: s.cookie })).status, 200);
    // Wait (without using the session, which would keep it alive) until it has been idle long enough.
    await waitFor('the session to be idle for the timeout', async () => {
      const { rows } = await app.pool.query("select now() - last_seen_at > interval '2 seconds' as idle from tandem.sessions");
      return rows.length === 1 && rows[0].idle;
    });
    const r = await call(`${app.url}/api/v1/tokens`, { cookie: s.cookie });
    t.equal(r.status, 401);
    t.match(r.body.error.message, /session expired/);
  });
  await t.test('absolute expiry, even while in use', async (t) => {
    const app = await startAuthApp(t, pgs, { 'auth.usersFile': file, 'auth.sessionAbsoluteTimeout': 3000 });
    const s = (await login(app.url, 'dora', 'dora-pw ü')).session!;
    t.match(s.setCookie, /Max-Age=3$/);
    let uses = 0;
    await waitFor('absolute expiry', async () => {
      uses++;
      return (await call(`${app.url}/api/v1/me`, { cookie: s.cookie })).status === 401;
    });
    t.ok(uses > 1, 'it was in use until it expired');
  });
});

t.test('throttling of failed logins', async (t) => {
  const file = await usersFile(t);
  await t.test('per user name and address: 429 with Retry-After, even for the right password, others unaffected', async (t) => {
    const app = await startAuthApp(t, pgs, { 'auth.usersFile': file, 'auth.throttle.maxFailuresPerUserAddress': 3, 'auth.throttle.baseDelay': '60s' });
    for (let i = 0; i < 2; i++) t.equal((await login(app.url, 'dora', 'bad')).status, 401);
    t.equal((await login(app.url, 'dora', 'bad')).status, 401, 'the third failure is still answered');
    const r = await login(app.url, 'dora', 'dora-pw ü');
    t.equal(r.status, 429);
    t.equal(r.body.error.code, 'too_many_requests');
    t.equal(r.headers.get('retry-after'), '60');
    t.equal((await login(app.url, 'DORA', 'dora-pw ü')).status, 429, 'case does not dodge the throttle');
    t.equal((await login(app.url, 'root', 'root-pw')).status, 200, 'another user can still log in');
    const { rows } = await app.pool.query("select count(*)::int as n from tandem.audit_events where event = 'login' and details->>'reason' = 'throttled'");
    t.equal(rows[0].n, 1, 'throttled attempts are audited, one row per window');
  });
  await t.test('per client address across user names; the delay ends', async (t) => {
    const app = await startAuthApp(t, pgs, { 'auth.usersFile': file, 'auth.throttle.maxFailuresPerAddress': 4, 'auth.throttle.baseDelay': '3s' });
    for (const u of ['a', 'b', 'c', 'd']) t.equal((await login(app.url, u, 'x')).status, 401);
    const r = await login(app.url, 'root', 'root-pw');
    t.equal(r.status, 429, 'a spraying address is slowed down for every name');
    t.match(r.headers.get('retry-after'), /^[1-3]$/);
    await waitFor('the delay to end', async () => (await login(app.url, 'root', 'root-pw')).status === 200);
    t.pass('logins work again after the delay');
  });
});

t.test('Secure cookie behind a trusted HTTPS proxy (and only then)', async (t) => {
  const file = await usersFile(t);
  const trusted = await startAuthApp(t, pgs, { 'auth.usersFile': file, 'server.trustProxy': true });
  const viaProxy = await call(`${trusted.url}/auth/login`, {
    method: 'POST',
    body: { username: 'dora', password: 'dora-pw ü' },
    headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' },
  });
  t.match(viaProxy.headers.get('set-cookie'), /; Secure$/);
  const { rows } = await trusted.pool.query("select client_addr from tandem.audit_events where event = 'login' order by at desc limit 1");
  t.equal(rows[0].client_addr, '203.0.113.9', 'the client address comes from the trusted proxy');
  const untrusted = await startAuthApp(t, pgs, { 'auth.usersFile': file });
  const spoofed = await call(`${untrusted.url}/auth/login`, {
    method: 'POST',
    body: { username: 'dora', password: 'dora-pw ü' },
    headers: { 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.9' },
  });
  t.notMatch(spoofed.headers.get('set-cookie'), /Secure/);
  const r2 = await untrusted.pool.query("select client_addr from tandem.audit_events where event = 'login' order by at desc limit 1");
  t.not(r2.rows[0].client_addr, '203.0.113.9', 'X-Forwarded-For is ignored without trustProxy');
});

t.test('a token outlives the directory and a session survives on another member (same database)', async (t) => {
  const file = await usersFile(t);
  const a = await startAuthApp(t, pgs, { 'auth.usersFile': file });
  const dbUrl = a.config.database.url!;
  const b = await startAuthApp(t, pgs, { 'auth.usersFile': file }, { databaseUrl: dbUrl });
  const s = (await login(a.url, 'dora', 'dora-pw ü')).session!;
  const me = await call(`${b.url}/api/v1/me`, { cookie: s.cookie });
  t.equal(me.status, 200, 'the session cookie from member A works on member B');
  const tok = await createToken(a.pool, { user: 'dora', roles: ['user'] });
  t.equal((await call(`${b.url}/api/v1/me`, { token: tok.token })).status, 200);
});

t.test('on a passive site: tokens and sessions work read-only, logins give read-only sessions, token changes are refused with site_passive', async (t) => {
  const file = await usersFile(t);
  const app = await startAuthApp(t, pgs, { 'auth.usersFile': file, 'auth.sessionIdleTimeout': 5000 });
  const s = (await login(app.url, 'dora', 'dora-pw ü')).session!;
  const tok = await createToken(app.pool, { user: 'dora', roles: ['user'] });
  const dbName = new URL(app.config.database.url!).pathname.slice(1);
  // What a failover leaves on a passive site: the role row, and read-only transactions by default.
  await app.pool.query(
    "insert into tandem_site.site (name, role, epoch, active_url) values ('b', 'passive', 1, 'https://tandem-a.example.org') on conflict (singleton) do update set role = 'passive', active_url = excluded.active_url",
  );
  await pgs.query(`alter database "${dbName}" set default_transaction_read_only = on`);
  await app.pool.query('discard all'); // (new connections pick the setting up; make sure none is cached)
  const fresh = await startAuthApp(t, pgs, { 'auth.usersFile': file, 'auth.sessionIdleTimeout': 5000 }, { databaseUrl: app.config.database.url! });

  const me = await call(`${fresh.url}/api/v1/me`, { token: tok.token });
  t.equal(me.status, 200, 'a token works (its last use is not recorded)');
  const { rows } = await fresh.pool.query('select last_used_at from tandem.api_tokens where id = $1', [tok.id]);
  t.equal(rows[0].last_used_at, null);
  // Past the touch granularity (500 ms here), a session request would normally write; on a passive site it must not fail.
  await waitFor('the session to need a touch', async () => (await fresh.pool.query("select now() - last_seen_at > interval '600 milliseconds' as old from tandem.sessions")).rows[0]?.old);
  t.equal((await call(`${fresh.url}/api/v1/me`, { cookie: s.cookie })).status, 200, 'a session works');

  // A login still works, with a read-only session kept on this site (test/auth/passive-login.test.ts has the details).
  const l = await login(fresh.url, 'dora', 'dora-pw ü');
  t.equal(l.status, 200);
  t.equal(l.body.readOnly, true);
  const write = await call(`${fresh.url}/api/v1/tokens`, { method: 'POST', cookie: l.session!.cookie, headers: { 'x-csrf-token': l.session!.csrfToken }, body: {} });
  t.equal(write.status, 503);
  t.equal(write.body.error.code, 'site_passive');
  t.match(write.body.error.message, /tandem-a\.example\.org/, 'names the active site');
  const created = await call(`${fresh.url}/api/v1/tokens`, { method: 'POST', token: tok.token, body: {} });
  t.equal(created.status, 503);
  t.equal(created.body.error.code, 'site_passive');
  t.teardown(() => pgs.query(`alter database "${dbName}" reset default_transaction_read_only`));
});
