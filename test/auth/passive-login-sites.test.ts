/**
 * Logging in on the passive site of a real two-site set-up (A active, B
 * passive, replicator A → B, a job server per site, issue #7 passive mode):
 * the session is kept on B only, reads the replicated data, cannot write,
 * and logout ends it; a session opened on A keeps working on B once
 * replicated. Neither site's replicated session table ever holds B's session.
 */
import t from 'tap';
import path from 'node:path';
import { hashPassword } from '../../server/auth/password.js';
import { writeUsersFile } from '../../server/auth/local/users-file.js';
import { hashSessionId } from '../../server/auth/sessions.js';
import { tempDir } from '../harness/tmp.js';
import { api, count, failover, startReplication, startSiteServer, startSites, waitFor } from '../failover/helpers.js';
import { call } from './helpers.js';
import { login } from './session.js';

t.test('log in on the passive site: a read-only session kept on that site', async (t) => {
  const dir = await tempDir(t, 'users');
  const usersFile = path.join(dir, 'users.yaml');
  writeUsersFile(usersFile, new Map([['dora', { password: await hashPassword('dora-pw', { N: 1024 }), roles: ['user'] }]]));

  const sites = await startSites(t);
  const { a, b, token } = sites;
  startReplication(t, a, b);
  await startSiteServer(t, a, sites, { 'auth.usersFile': usersFile });
  await startSiteServer(t, b, sites, { 'auth.usersFile': usersFile });

  t.equal((await api(a, token, 'POST', '/api/v1/projects', { name: 'ops', description: 'seen from b' })).status, 201, 'project created on a');
  await waitFor('the project on b', async () => (await count(b, `tandem.projects where name = 'ops'`)) === 1);
  const auditOnB = await count(b, 'tandem.audit_events');

  // Login on b.
  const l = await login(b.url, 'dora', 'dora-pw');
  t.equal(l.status, 200, `login on the passive site answers 200 (${JSON.stringify(l.body)})`);
  t.equal(l.body.readOnly, true);
  t.equal(l.body.siteRole, 'passive');
  const s = l.session!;
  const idHash = hashSessionId(s.cookie.split('=')[1]!);
  t.equal(await count(b, 'tandem_site.local_sessions'), 1, "the session is in b's site-local table");

  // Reads of the replicated data.
  const projects = await call(`${b.url}/api/v1/projects`, { cookie: s.cookie });
  t.equal(projects.status, 200, 'GET /api/v1/projects with the cookie → 200');
  t.ok(JSON.stringify(projects.body).includes('seen from b'), 'lists the replicated project');
  t.equal((await call(`${b.url}/api/v1/me`, { cookie: s.cookie })).body.readOnly, true);

  // Writes, with the CSRF token: 503 site_passive naming a.
  const writes = [
    await call(`${b.url}/api/v1/projects`, { method: 'POST', cookie: s.cookie, headers: { 'x-csrf-token': s.csrfToken }, body: { name: 'nope' } }),
    await call(`${b.url}/api/v1/projects/ops`, { method: 'DELETE', cookie: s.cookie, headers: { 'x-csrf-token': s.csrfToken } }),
    await call(`${b.url}/api/v1/tokens`, { method: 'POST', cookie: s.cookie, headers: { 'x-csrf-token': s.csrfToken }, body: {} }),
  ];
  for (const w of writes) {
    t.equal(w.status, 503, 'a write with the session → 503');
    t.equal(w.body.error.code, 'site_passive');
    t.equal(w.body.error.activeSite, a.url, 'naming the active site');
  }
  t.equal(await count(b, `tandem.projects where name = 'nope'`), 0, 'nothing written on b');
  t.equal(await count(a, `tandem.projects where name = 'nope'`), 0, 'nor on a');
  t.equal(await count(b, 'tandem.audit_events'), auditOnB, "b's replicated audit table is untouched");

  // The session belongs to b only: not in either site's replicated table, unknown to a.
  for (const site of [a, b]) t.equal(await count(site, `tandem.sessions where id_hash = '${idHash}'`), 0, `not in tandem.sessions at ${site.name}`);
  t.equal(await count(a, 'tandem_site.local_sessions'), 0, 'nothing site-local on a');
  t.equal((await call(`${a.url}/api/v1/me`, { cookie: s.cookie })).status, 401, "b's session does not work on a");

  // Logout on b.
  const out = await call(`${b.url}/auth/logout`, { method: 'POST', cookie: s.cookie, headers: { 'x-csrf-token': s.csrfToken } });
  t.equal(out.status, 204, 'logout answers 204');
  t.equal(await count(b, 'tandem_site.local_sessions'), 0, 'the session is deleted');
  t.equal((await call(`${b.url}/api/v1/projects`, { cookie: s.cookie })).status, 401, 'the cookie no longer works');

  // A session opened on a works on b once replicated (a replicated session, not a site-local one).
  const la = await login(a.url, 'dora', 'dora-pw');
  t.equal(la.status, 200);
  t.notOk(la.body.readOnly, 'a normal session on the active site');
  const aHash = hashSessionId(la.session!.cookie.split('=')[1]!);
  await waitFor("a's session on b", async () => (await count(b, `tandem.sessions where id_hash = '${aHash}'`)) === 1);
  const onB = await call(`${b.url}/api/v1/projects`, { cookie: la.session!.cookie });
  t.equal(onB.status, 200, "a's session reads on b");
  // (A change dora may make: create a token of her own.)
  const w = await call(`${b.url}/api/v1/tokens`, { method: 'POST', cookie: la.session!.cookie, headers: { 'x-csrf-token': la.session!.csrfToken }, body: {} });
  t.equal(w.status, 503, "and a's session cannot write on b either");
  t.equal(w.body.error.code, 'site_passive');
  t.equal(await count(b, 'tandem_site.local_sessions'), 0);
});

t.test('a session opened on the active site writes on the other site after a switchover (cookie and CSRF token)', async (t) => {
  const dir = await tempDir(t, 'users');
  const usersFile = path.join(dir, 'users.yaml');
  writeUsersFile(usersFile, new Map([['otto', { password: await hashPassword('otto-pw', { N: 1024 }), roles: ['admin'] }]]));

  const sites = await startSites(t);
  const { a, b } = sites;
  startReplication(t, a, b);
  await startSiteServer(t, a, sites, { 'auth.usersFile': usersFile });
  await startSiteServer(t, b, sites, { 'auth.usersFile': usersFile });

  const l = await login(a.url, 'otto', 'otto-pw');
  t.equal(l.status, 200, `login on the active site (${JSON.stringify(l.body)})`);
  const s = l.session!;
  const write = (site: typeof a, name: string, csrf: string | undefined = s.csrfToken) =>
    call(`${site.url}/api/v1/projects`, { method: 'POST', cookie: s.cookie, headers: csrf ? { 'x-csrf-token': csrf } : {}, body: { name } });
  t.equal((await write(a, 'before')).status, 201, 'the session writes on a');
  const idHash = hashSessionId(s.cookie.split('=')[1]!);
  await waitFor('the session replicated to b', async () => (await count(b, `tandem.sessions where id_hash = '${idHash}'`)) === 1);

  const res = await failover(sites, { to: 'b', reverse: true });
  t.equal(res.outcome, 'done', 'switchover a → b done');
  await waitFor('b answers 200 on /health/active', async () => (await fetch(b.url + '/health/active')).status === 200);

  const me = await call(`${b.url}/api/v1/me`, { cookie: s.cookie });
  t.equal(me.status, 200, 'the cookie is still a valid session on b');
  t.equal(me.body.user, 'otto');
  t.notOk(me.body.readOnly, 'a normal (read-write) session now that b is active');
  t.equal(me.body.csrfToken, s.csrfToken, 'with the CSRF token given at login on a');

  const noCsrf = await write(b, 'no-csrf', '');
  t.equal(noCsrf.status, 403, 'a write without the CSRF token is still refused on b');
  t.equal(noCsrf.body.error.code, 'csrf_failed');
  const onB = await write(b, 'after');
  t.equal(onB.status, 201, `the same cookie and CSRF token write on b (${JSON.stringify(onB.body)})`);
  t.equal(await count(b, `tandem.projects where name = 'after'`), 1, 'the project is at b');
  t.equal(await count(b, `tandem.projects where name = 'no-csrf'`), 0, 'the refused one is not');
  // (The audit row does not name the project: the one written on a, replicated, and the one written on b.)
  const audit = await b.q(`select username, details from tandem.audit_events where event = 'project.created' order by at`);
  t.same(audit.rows.map((r) => [r.username, r.details.via]), [['otto', 'session'], ['otto', 'session']], "b's audit trail names otto and his session for both writes");

  const onA = await write(a, 'on-a');
  t.equal(onA.status, 503, 'a, now passive, refuses the write');
  t.equal(onA.body.error.code, 'site_passive');
  t.equal(onA.body.error.activeSite, b.url, 'naming b');
});
