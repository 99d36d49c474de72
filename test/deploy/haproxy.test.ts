// The load balancer's acceptance test (deploy/README.md): Debian's real haproxy running the shipped
// deploy/haproxy/haproxy.cfg (rendered for loopback) in front of two sites'
// real `tandem server` processes (compiled CLI: run `npx tsc -p
// tsconfig.json` first), each on its own PostgreSQL, site A active and
// replicated to site B. Requests reach only A; after `tandem failover --to b`
// (a planned switchover, run as a process) they reach B within the
// health-check interval plus 2 s; no request, read or write, is answered
// with a success by a passive site (HAProxy marks every request
// X-Tandem-Require-Active, server/site/balancer.ts, and retries the 503s);
// every acknowledged write is at B.
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { migrate } from '../../server/db/migrate.js';
import { createToken } from '../../server/auth/tokens.js';
import { freePort } from '../../server/embedded/net.js';

import { initSiteState } from '../../server/site/init.js';
import { writableUrl } from '../../server/site/connect.js';
import { runReplicator } from '../../replicator/index.js';
import { startHaproxy, type ServerStat } from '../harness/haproxy.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir, type Teardown } from '../harness/tmp.js';
import { root } from './nginx-render.js';
import { startTandemServer } from './tandem-process.js';
import { testPool } from '../harness/pool.js';
import { testLog } from '../harness/log.js';
import { waitFor } from '../harness/wait.js';

interface Site {
  name: string;
  dbUrl: string;
  port: number;
  url: string;
}

async function prepareSite(t: Teardown, name: string): Promise<Site> {
  const server = await startPostgres(t, { name: `lb-${name}` });
  const dbUrl = await server.createDatabase('tandem');
  await migrate(dbUrl);
  const port = await freePort();
  return { name, dbUrl, port, url: `http://127.0.0.1:${port}` };
}

interface Answer {
  sentAt: number;
  at: number;
  method: 'GET' | 'POST';
  status: number;
  /** HAProxy's server that answered (x-lb-server), if any. */
  server: string | null;
  /** The site that answered (X-Tandem-Site) and the role it decided on (X-Tandem-Role). */
  site: string | null;
  role: string | null;
  project?: string;
}

const up = (s: ServerStat[], name: string) => s.find((x) => x.name === name)?.status === 'UP';
const down = (s: ServerStat[], name: string) => s.find((x) => x.name === name)?.status === 'DOWN';

t.test('HAProxy sends traffic to the active site only, and follows tandem failover', async (t) => {
  const [a, b] = await Promise.all([prepareSite(t, 'a'), prepareSite(t, 'b')]);
  const entries = { a: { databaseUrl: a.dbUrl, url: a.url }, b: { databaseUrl: b.dbUrl, url: b.url } };
  await initSiteState({ databaseUrl: a.dbUrl, name: 'a', role: 'active', activeSite: 'a', activeUrl: a.url });
  await initSiteState({ databaseUrl: b.dbUrl, name: 'b', role: 'passive', activeSite: 'a', activeUrl: a.url });
  const tokenPool = new pg.Pool({ connectionString: a.dbUrl, max: 1 });
  const { token } = await createToken(tokenPool, { user: 'admin', roles: ['admin'] });
  await tokenPool.end();

  // The replicator A → B (at the passive site), until the test ends.
  const stopReplication = new AbortController();
  const replication = runReplicator({ sourceUrl: a.dbUrl, targetUrl: writableUrl(b.dbUrl), log: testLog, signal: stopReplication.signal, retryDelayMs: 100 }).catch(
    (e: Error) => e,
  );
  t.teardown(async () => {
    stopReplication.abort();
    await replication;
  });

  // Each site's job server as an operator runs it: `tandem server --config FILE`.
  const dir = await tempDir(t, 'lb-sites');
  for (const s of [a, b]) {
    const file = path.join(dir, `site-${s.name}.yaml`);
    await writeFile(
      file,
      stringify({
        site: s.name,
        sites: entries,
        database: { url: s.dbUrl },
        server: { host: '127.0.0.1', port: s.port, drainTimeout: '3s' },
        logs: { store: 'filesystem', dir: path.join(dir, `logs-${s.name}`), spoolDir: path.join(dir, `spool-${s.name}`) },
        failover: { checkInterval: '200ms' },
        scheduler: { interval: '200ms' },
      }),
    );
    await startTandemServer(t, ['--config', file], {}, s.port);
  }

  const lb = await startHaproxy(t, { servers: [{ name: 'a1', port: a.port }, { name: 'b1', port: b.port }], tagServer: true });
  await lb.waitFor((s) => up(s, 'a1') && down(s, 'b1'), 20_000, 'a1 up (active), b1 down (passive)').catch(async (e: Error) => {
    const why = await Promise.all([a, b].map((s) => fetch(s.url + '/health/active').then(async (r) => `${s.name}: ${r.status} ${await r.text()}`, (x: Error) => `${s.name}: ${x.message}`)));
    throw new Error(`${e.message}\n${why.join('\n')}`);
  });

  const auth = { authorization: `Bearer ${token}` };
  let n = 0;
  const request = async (method: 'GET' | 'POST'): Promise<Answer> => {
    const sentAt = Date.now();
    const project = method === 'POST' ? `p${n++}` : undefined;
    try {
      const res = await fetch(lb.url + '/api/v1/projects', {
        method,
        headers: method === 'POST' ? { ...auth, 'content-type': 'application/json' } : auth,
        body: project ? JSON.stringify({ name: project }) : undefined,
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      const h = res.headers;
      return { sentAt, at: Date.now(), method, status: res.status, server: h.get('x-lb-server'), site: h.get('x-tandem-site'), role: h.get('x-tandem-role'), project };
    } catch {
      // HAProxy may close a connection while no site is active.
      return { sentAt, at: Date.now(), method, status: 0, server: null, site: null, role: null, project };
    }
  };

  const before: Answer[] = [];
  for (let i = 0; i < 10; i++) before.push(await request(i % 2 ? 'POST' : 'GET'));
  t.same([...new Set(before.map((x) => x.server))], ['a1'], 'before the failover, every request is answered by site A');
  t.ok(before.every((x) => x.status === 200 || x.status === 201), `all succeed (${before.map((x) => x.status).join(' ')})`);
  t.ok(before.every((x) => x.site === 'a' && x.role === 'active'), 'answered by site A, as active, for a marked request (X-Tandem-Site, X-Tandem-Role)');
  // What the runbook tells operators to run: even without a token, the answer names the site.
  const anonymous = await fetch(lb.url + '/api/v1/projects');
  await anonymous.body?.cancel();
  t.same([anonymous.status, anonymous.headers.get('x-tandem-site'), anonymous.headers.get('x-tandem-role')], [401, 'a', 'active'], 'a 401 through HAProxy names the site and its role');

  // Load through the load balancer during the switchover.
  const answers: Answer[] = [];
  let loading = true;
  const load = (async () => {
    for (let i = 0; loading; i++) answers.push(await request(i % 2 ? 'POST' : 'GET'));
  })();
  await waitFor('answers under load before the failover', () => answers.length >= 5, 20_000);

  // The operator's command, as a process: `tandem failover --config FILE --to b`.
  const startedAt = Date.now();
  const failover = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin/tandem.js'), 'failover', '--config', path.join(dir, 'site-a.yaml'), '--to', 'b', '--drain-timeout', '3s'], {
      cwd: root,
      env: { PATH: process.env.PATH, TANDEM_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });
  const switchedAt = Date.now();
  t.equal(failover.code, 0, `tandem failover exits 0:\n${failover.out}`);
  t.match(failover.out, /done: b is active/, 'and says so');
  await lb.waitFor((s) => up(s, 'b1') && down(s, 'a1'), 20_000, 'b1 up, a1 down');
  const settledAt = Date.now();
  // Keep the load going past the 3 s bound, to see it stay on B: until a few
  // requests sent more than 3 s after the switchover were answered.
  await waitFor('answers for requests sent more than 3 s after the switchover', () => answers.filter((x) => x.sentAt > switchedAt + 3000).length >= 5, 20_000);
  loading = false;
  await load;
  stopReplication.abort();

  const firstB = answers.find((x) => x.server === 'b1' && x.status < 300);
  t.ok(firstB, 'site B answered after the switchover');
  const delay = firstB!.at - switchedAt;
  t.comment(`first success from B ${delay} ms after tandem failover returned; HAProxy settled after ${settledAt - switchedAt} ms; ${answers.length} requests during the switch`);
  // The bound: the check interval (inter 1s in haproxy.cfg) plus 2 s for the switch itself.
  t.ok(delay <= 3000, `traffic reached site B within inter + 2 s (${delay} ms)`);
  const late = answers.filter((x) => x.sentAt > switchedAt + 3000);
  t.ok(late.length > 0, 'requests sent more than 3 s after the switchover');
  t.ok(late.every((x) => x.server === 'b1'), 'every request sent more than 3 s after the switchover is answered by site B');
  // No success from a passive site, reads included. A request sent after the
  // command returned found A passive: none may succeed there. During the
  // command, every success names the role its site decided on: active, or
  // draining (the old active during the drain, still the newest copy, no
  // other site active; it starts nothing new).
  const ok = answers.filter((x) => x.status >= 200 && x.status < 300);
  const stale = ok.filter((x) => (x.server === 'a1' || x.site === 'a') && x.sentAt > switchedAt);
  t.same(stale, [], 'no request (read or write) sent after the switchover is answered with success by site A');
  t.same(
    ok.filter((x) => x.role !== 'active' && !(x.role === 'draining' && x.method === 'GET')),
    [],
    'every success came from an active site (or a read from the draining one): none from a passive site',
  );
  t.ok(ok.every((x) => (x.server === 'a1') === (x.site === 'a')), 'X-Tandem-Site agrees with the HAProxy server that answered');
  const refusedByA = answers.filter((x) => x.server === 'a1' && x.status === 503).length;
  const failed = answers.filter((x) => x.status >= 300 || x.status === 0);
  t.comment(
    `${failed.length} of ${answers.length} requests during the switch not successful (${[...new Set(failed.map((x) => x.status))].join(', ')}), ` +
      `${refusedByA} of them refused by A after HAProxy's retries; ${ok.filter((x) => x.role === 'draining').length} reads answered by A while draining`,
  );
  t.ok(failed.every((x) => x.status === 503 || x.status === 0), 'the only failures are 503s (or closed connections)');
  t.same(
    failed.filter((x) => x.sentAt < startedAt || x.sentAt > switchedAt + 3000),
    [],
    'and only for requests sent during the switchover (from the command start to 3 s after it returned)',
  );

  // Every acknowledged write is at B (planned switchover: nothing lost).
  const acked = [...before, ...answers].filter((x) => x.method === 'POST' && x.status === 201).map((x) => x.project!);
  t.ok(acked.length > 0, `${acked.length} writes acknowledged`);
  const bPool = testPool(t, { connectionString: b.dbUrl, max: 1 });
  const found = await bPool.query<{ name: string }>('select name from tandem.projects where name = any($1::text[])', [acked]);
  t.equal(found.rowCount, acked.length, 'every acknowledged project is at site B');
});
