import t from 'tap';
import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { startPostgres } from '../harness/postgres.js';
import { startLdap, SERVICE_DN, SERVICE_PASSWORD, BASE_DN, users } from '../harness/ldap.js';
import { tempDir } from '../harness/tmp.js';
import { freePort } from '../../server/embedded/net.js';
import { createToken } from '../../server/auth/tokens.js';
import { LdapAuthenticator } from '../../server/auth/ldap/ldap-authenticator.js';
import { loadConfig } from '../../server/config/load.js';

import { call, startAuthApp } from './helpers.js';
import { login } from './session.js';
import { makeTestCa } from './tls.js';
import { testLog } from '../harness/log.js';

function ldapConfig(urls: string[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    'auth.ldap.urls': urls,
    'auth.ldap.bindDn': SERVICE_DN,
    'auth.ldap.bindPassword': SERVICE_PASSWORD,
    'auth.ldap.userBase': `ou=people,${BASE_DN}`,
    'auth.ldap.groupBase': `ou=groups,${BASE_DN}`,
    'auth.ldap.timeoutMs': 5000,
    ...extra,
  };
}

// A groupOfUniqueNames group, added beside the harness fixture (not changing it).
const AUDITORS_LDIF = `dn: cn=auditors,ou=groups,${BASE_DN}
objectClass: groupOfUniqueNames
cn: auditors
uniqueMember: ${users.carol.dn}
`;

// One PostgreSQL cluster for the whole file (a fresh database per app).
const pgs = await startPostgres(t, { name: 'ldap' });

t.test('LDAP login against a real slapd', async (t) => {
  const ldap = await startLdap(t, { ldif: AUDITORS_LDIF });
  const app = await startAuthApp(
    t,
    pgs,
    ldapConfig([ldap.url], { 'auth.ldap.nestedGroups': true, 'auth.ldap.roleMap': 'ops=admin,devs=user,auditors=auditor', 'auth.ldap.supplementalRoles': ['everyone'], 'auth.throttle.maxFailuresPerUser': 100, 'auth.throttle.maxFailuresPerAddress': 1000 }),
  );

  await t.test('right password: session cookie, groups (groupOfNames + posixGroup) and mapped roles', async (t) => {
    const r = await login(app.url, 'alice', users.alice.password);
    t.equal(r.status, 200);
    t.equal(r.body.user, 'alice');
    t.same(r.body.groups, ['devs', 'ops']);
    t.same(r.body.roles, ['admin', 'everyone', 'user']);
    t.match(r.session!.setCookie, /^tandem_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=\d+$/, 'HttpOnly, SameSite=Lax, not Secure over plain HTTP');
    const me = await call(`${app.url}/api/v1/me`, { cookie: r.session!.cookie });
    t.equal(me.status, 200);
    t.same({ user: me.body.user, via: me.body.via, groups: me.body.groups, roles: me.body.roles }, { user: 'alice', via: 'session', groups: ['devs', 'ops'], roles: ['admin', 'everyone', 'user'] });
    t.equal(me.body.csrfToken, r.session!.csrfToken);
    const profile = await app.pool.query('select source, groups, roles from tandem.user_profiles where username = $1', ['alice']);
    t.same(profile.rows[0], { source: 'ldap', groups: ['devs', 'ops'], roles: ['admin', 'everyone', 'user'] }, 'profile stored');
  });

  await t.test('wrong password, unknown user and empty password are refused alike', async (t) => {
    for (const [u, p] of [
      ['alice', 'wrong'],
      ['nobody', 'whatever'],
      ['alice', ''],
      ['', ''],
    ]) {
      const r = await login(app.url, u!, p!);
      t.equal(r.status, 401, `${JSON.stringify(u)} / ${p ? 'some password' : 'empty password'}`);
      t.equal(r.body.error.message, 'wrong user name or password');
      t.notOk(r.headers.get('set-cookie'), 'no cookie');
    }
  });

  await t.test('an empty password is refused before any connection to the directory', async (t) => {
    const closed = await freePort();
    const cfg = loadConfig({ env: {}, overrides: ldapConfig([`ldap://127.0.0.1:${closed}`]) });
    const auth = new LdapAuthenticator(cfg.auth.ldap, testLog);
    t.same(await auth.authenticate('alice', ''), { ok: false, reason: 'bad_credentials' }, 'no 503: nothing was contacted');
    await t.rejects(auth.authenticate('alice', 'x'), { code: 'unavailable' }, 'with a password it does try (and finds the directory down)');
  });

  await t.test('filter-injection user names cannot widen the search', async (t) => {
    for (const u of ['*', 'al*', 'alice)(uid=*', '*)(|(uid=*', 'alice\\', '(uid=alice)']) {
      const r = await login(app.url, u, users.alice.password);
      t.equal(r.status, 401, `${JSON.stringify(u)} with alice's password is refused`);
    }
    // A NUL is refused by the body reader before any search (400 naming the field: a NUL would end the LDAP filter value early), never a login.
    const nul = await login(app.url, 'alice\u0000', users.alice.password);
    t.equal(nul.status, 400, '"alice\\u0000" is refused as bad input');
    t.equal(nul.body?.error?.field, 'username', 'the answer names the field');
  });

  await t.test('special and non-ASCII characters in names and passwords', async (t) => {
    for (const u of [users.star, users.comma, users.muller]) {
      const r = await login(app.url, u.uid, u.password);
      t.equal(r.status, 200, `${u.uid} logs in`);
      t.equal(r.body?.user, u.uid);
      t.same(r.body?.groups, ['special'], `${u.uid} is found in the special group by DN`);
    }
    t.equal((await login(app.url, users.muller.uid, 'müller-fixture-pw-u')).status, 401, 'a non-ASCII password must match exactly');
  });

  await t.test('posixGroup, groupOfUniqueNames and nested groups', async (t) => {
    const carol = await login(app.url, 'carol', users.carol.password);
    t.same(carol.body.groups, ['auditors', 'devs'], 'posixGroup by memberUid and groupOfUniqueNames by uniqueMember');
    t.same(carol.body.roles, ['auditor', 'everyone', 'user']);
    const bob = await login(app.url, 'bob', users.bob.password);
    t.same(bob.body.groups, ['ops', 'team'], 'bob is in team, which is in ops');
    t.same(bob.body.roles, ['admin', 'everyone'], 'nested ops membership maps to admin');
  });

  await t.test('without nestedGroups only direct groups count; an empty roleMap uses group names as roles', async (t) => {
    const flat = await startAuthApp(t, pgs, ldapConfig([ldap.url]));
    const bob = await login(flat.url, 'bob', users.bob.password);
    t.same(bob.body.groups, ['team']);
    t.same(bob.body.roles, ['team']);
  });

  await t.test('login and failures are audited, never with the password', async (t) => {
    const { rows } = await app.pool.query<{ outcome: string; username: string; details: Record<string, unknown>; client_addr: string }>(
      "select outcome, username, details, client_addr from tandem.audit_events where event = 'login' order by at",
    );
    t.ok(rows.some((r) => r.outcome === 'success' && r.username === 'alice'));
    t.ok(rows.some((r) => r.outcome === 'failure' && r.username === 'nobody' && r.details.reason === 'unknown_user'));
    t.ok(rows.every((r) => r.client_addr === '127.0.0.1' || r.client_addr === '::ffff:127.0.0.1'));
    const all = JSON.stringify(rows);
    t.notOk(all.includes(users.alice.password), 'no password in the audit trail');
    t.notOk(all.includes('"wrong"'), 'no wrong password either');
  });

  await t.test('first LDAP URL down, second up', async (t) => {
    const closed = await freePort();
    const a = await startAuthApp(t, pgs, ldapConfig([`ldap://127.0.0.1:${closed}`, ldap.url]));
    const r = await login(a.url, 'alice', users.alice.password);
    t.equal(r.status, 200);
  });

  await t.test('directory down: 503 with a clear message; existing sessions and tokens keep working', async (t) => {
    const slapd = await startLdap(t);
    const a = await startAuthApp(t, pgs, ldapConfig([slapd.url]));
    const s = await login(a.url, 'alice', users.alice.password);
    t.equal(s.status, 200);
    const token = await createToken(a.pool, { user: 'alice', roles: ['admin'] });
    await slapd.stop();
    const r = await login(a.url, 'alice', users.alice.password);
    t.equal(r.status, 503);
    t.equal(r.body.error.code, 'unavailable');
    t.match(r.body.error.message, /login directory is unavailable/);
    t.equal((await call(`${a.url}/api/v1/me`, { cookie: s.session!.cookie })).status, 200, 'the session still works');
    t.equal((await call(`${a.url}/api/v1/me`, { token: token.token })).status, 200, 'the token still works');
    // Not the user's fault: outages do not count towards the throttle.
    for (let i = 0; i < 6; i++) t.equal((await login(a.url, 'alice', users.alice.password)).status, 503);
    await slapd.start();
    t.equal((await login(a.url, 'alice', users.alice.password)).status, 200, 'logins work again once the directory is back');
  });

  await t.test('a directory that accepts connections but never answers: 503 after the timeout', async (t) => {
    const sockets = new Set<Socket>();
    const silent = createServer((s) => sockets.add(s));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    t.teardown(() => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    const port = (silent.address() as { port: number }).port;
    const a = await startAuthApp(t, pgs, ldapConfig([`ldap://127.0.0.1:${port}`], { 'auth.ldap.timeoutMs': 300 }));
    const r = await login(a.url, 'alice', users.alice.password);
    t.equal(r.status, 503);
    t.equal(r.body.error.code, 'unavailable');
  });
});

t.test('LDAP over TLS with a CA the test generates', async (t) => {
  const dir = await tempDir(t, 'ldap-ca');
  const ca = makeTestCa(dir);
  const ldap = await startLdap(t, { tls: { certFile: ca.certFile, keyFile: ca.keyFile } });

  await t.test('ldaps:// with caFile', async (t) => {
    const a = await startAuthApp(t, pgs, ldapConfig([ldap.ldapsUrl!], { 'auth.ldap.caFile': ca.caFile }));
    const r = await login(a.url, 'alice', users.alice.password);
    t.equal(r.status, 200);
    t.same(r.body.groups, ['devs', 'ops']);
  });

  await t.test('StartTLS on ldap:// with caFile', async (t) => {
    const a = await startAuthApp(t, pgs, ldapConfig([ldap.url], { 'auth.ldap.caFile': ca.caFile, 'auth.ldap.startTls': true }));
    t.equal((await login(a.url, 'carol', users.carol.password)).status, 200);
  });

  await t.test('a certificate from an untrusted CA is refused (no way to skip the check)', async (t) => {
    const a = await startAuthApp(t, pgs, ldapConfig([ldap.ldapsUrl!], { 'auth.ldap.caFile': ca.otherCaFile }));
    const r = await login(a.url, 'alice', users.alice.password);
    t.equal(r.status, 503);
    t.match(r.body.error.message, /certificate/i);
    const b = await startAuthApp(t, pgs, ldapConfig([ldap.url], { 'auth.ldap.caFile': ca.otherCaFile, 'auth.ldap.startTls': true }));
    t.equal((await login(b.url, 'alice', users.alice.password)).status, 503, 'StartTLS checks the certificate too');
    const c = await startAuthApp(t, pgs, ldapConfig([ldap.ldapsUrl!]));
    t.equal((await login(c.url, 'alice', users.alice.password)).status, 503, 'system CAs do not trust the test CA');
  });
});

