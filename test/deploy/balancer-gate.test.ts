// The job server's answer to requests forwarded by a load balancer
// (server/site/balancer.ts), on a real PostgreSQL whose site row the test
// switches between roles: with X-Tandem-Require-Active, only a confirmed
// active site (or a draining one) serves, reads included; without it, a
// passive site keeps serving reads directly. The gate runs inside the job
// server's own error middleware, as in server/http/app.ts.
import t from 'tap';
import Koa from 'koa';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { migrate } from '../../server/db/migrate.js';
import { freePort } from '../../server/embedded/net.js';
import { errorMiddleware } from '../../server/http/errors.js';

import { balancerGate, REQUIRE_ACTIVE_HEADER } from '../../server/site/balancer.js';
import { writableUrl } from '../../server/site/connect.js';
import { initSiteState } from '../../server/site/init.js';
import { setSiteRole } from '../../server/site/sql/set-site-role.js';
import type { SiteRole } from '../../server/site/roles.js';
import { startPostgres } from '../harness/postgres.js';
import { testLog } from '../harness/log.js';
import { waitFor } from '../harness/wait.js';

interface Answer {
  status: number;
  site: string | null;
  role: string | null;
  body: { ok?: boolean; error?: { code: string; activeSite?: string | null; role?: string; message: string } };
}

t.test('requests from the load balancer are answered by the active site only', async (t) => {
  const server = await startPostgres(t, { name: 'gate' });
  const dbUrl = await server.createDatabase('gate');
  await migrate(dbUrl);
  await initSiteState({ databaseUrl: dbUrl, name: 'b', role: 'passive', activeSite: 'a', activeUrl: 'https://a.example.org' });
  const pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
  const admin = new pg.Pool({ connectionString: writableUrl(dbUrl), max: 1 });
  for (const p of [pool, admin]) p.on('error', (e) => process.stderr.write(`balancer-gate test pool: an idle session was ended by the server: ${e.message}\n`));
  t.teardown(async () => {
    await Promise.all([pool.end(), admin.end()]);
    // pool.end() resolves before the server has seen the sessions go: wait
    // for them, so that stopping PostgreSQL does not kill a session whose
    // client would then report "terminating connection".
    await waitFor(
      'the sessions to database gate to end after the pools ended',
      async () => (await server.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = 'gate'`)).rows[0]!.n === 0,
      10_000,
      20,
    );
  });
  const setRole = (role: SiteRole) => setSiteRole(admin, { role, activeSite: role === 'active' ? 'b' : 'a', activeUrl: role === 'active' ? null : 'https://a.example.org', reason: 'test' });

  // What the site monitor would say (confirmedActive), driven by the test.
  const monitor = { confirmed: true, failures: 0, confirmedActive: () => monitor.confirmed, databaseFailed: () => void monitor.failures++ };
  const handled: string[] = [];
  const serve = async (db: pg.Pool): Promise<string> => {
    const app = new Koa();
    app.use(errorMiddleware(testLog));
    app.use(balancerGate({ pool: db, siteName: 'b', monitor, log: testLog }));
    app.use((ctx) => {
      handled.push(ctx.method);
      ctx.status = ctx.method === 'POST' ? 201 : 200;
      ctx.body = { ok: true };
    });
    const http = app.listen(0, '127.0.0.1');
    await once(http, 'listening');
    t.teardown(
      () =>
        new Promise<void>((r) => {
          http.close(() => r());
          http.closeAllConnections();
        }),
    );
    return `http://127.0.0.1:${(http.address() as AddressInfo).port}/api/v1/projects`;
  };
  const url = await serve(pool);

  const ask = async (method: 'GET' | 'POST', marker?: string, to = url): Promise<Answer> => {
    const res = await fetch(to, { method, headers: marker === undefined ? {} : { [REQUIRE_ACTIVE_HEADER]: marker } });
    return { status: res.status, site: res.headers.get('x-tandem-site'), role: res.headers.get('x-tandem-role'), body: (await res.json()) as Answer['body'] };
  };

  // Passive: direct reads are served, marked requests refused, reads too, with nothing done.
  const direct = await ask('GET');
  t.equal(direct.status, 200, 'passive, direct read: served');
  t.equal(direct.site, 'b', 'the answer names its site');
  t.equal(direct.role, null, 'no role header on unmarked requests');
  handled.length = 0;
  for (const method of ['GET', 'POST'] as const) {
    const a = await ask(method, '1');
    t.equal(a.status, 503, `passive, ${method} from the load balancer: 503`);
    t.equal(a.body.error?.code, 'site_passive');
    t.equal(a.body.error?.activeSite, 'https://a.example.org', 'names the active site');
    t.equal(a.body.error?.role, 'passive');
    t.equal(a.role, 'passive', 'X-Tandem-Role says on what it decided');
    t.equal(a.site, 'b');
  }
  t.same(handled, [], 'no refused request reached a handler');
  // Presence counts, whatever the value: an empty or "0" marker is a marker.
  t.equal((await ask('GET', '')).status, 503, 'empty marker: refused');
  t.equal((await ask('GET', '0')).status, 503, '"0" marker: refused');

  // Fenced: the same (a site is fenced from active or draining, never from passive: server/site/roles.ts).
  await setRole('active');
  await setRole('fenced');
  t.equal((await ask('GET', '1')).status, 503, 'fenced: refused');
  t.equal((await ask('GET')).status, 200, 'fenced, direct read: served');

  // Active and confirmed: served. The role is read from the database at each
  // request, so the answer follows a role change at once (no cache).
  await setRole('active');
  const active = await ask('GET', '1');
  t.equal(active.status, 200, 'active: marked read served');
  t.equal(active.role, 'active');
  t.equal((await ask('POST', '1')).status, 201, 'active: marked write served');

  // Active in the database but not confirmed by the monitor (lost its database, not yet re-checked): refused.
  monitor.confirmed = false;
  const unconfirmed = await ask('GET', '1');
  t.equal(unconfirmed.status, 503, 'active but unconfirmed: refused');
  t.match(unconfirmed.body.error?.message, /not yet confirmed/);
  monitor.confirmed = true;

  // Draining (a planned switchover began; no other site is active yet): still answers.
  await setRole('draining');
  t.equal((await ask('GET', '1')).status, 200, 'draining: marked read served');

  // Demoted: refused again on the very next request.
  await setRole('passive');
  t.equal((await ask('GET', '1')).status, 503, 'passive again: refused at once');

  // The role changes only along the transition table (server/site/roles.ts), checked by the update itself.
  const refused = await setRole('draining').then(
    () => null,
    (e: { code?: string }) => e,
  );
  t.equal(refused?.code, 'illegal_transition', 'passive → draining refused by setSiteRole');
  t.equal((await admin.query('select role from tandem_site.site')).rows[0].role, 'passive', 'and the role is unchanged');
  const raced = await setSiteRole(admin, { role: 'passive', from: ['fenced'], activeSite: 'b', activeUrl: null, reason: 'test' }).then(
    () => null,
    (e: { code?: string }) => e,
  );
  t.equal(raced?.code, 'conflict', 'a change decided on a role that changed meanwhile is refused (conflict)');

  // Database unreachable (a pool to a closed port): 503 unavailable, nothing done, and the monitor is told.
  const closed = await freePort();
  const unreachable = new pg.Pool({ connectionString: `postgres://tandem@127.0.0.1:${closed}/tandem`, connectionTimeoutMillis: 2000 });
  t.teardown(() => unreachable.end());
  handled.length = 0;
  const lost = await ask('GET', '1', await serve(unreachable));
  t.equal(lost.status, 503, 'no database: 503');
  t.equal(lost.body.error?.code, 'unavailable');
  t.equal(monitor.failures, 1, 'the monitor no longer counts this site as confirmed');
  t.same(handled, [], 'and the request reached no handler');
});
