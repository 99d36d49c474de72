/**
 * A Rundeck client through HAProxy (the shipped deploy/haproxy/haproxy.cfg)
 * in front of two sites' real `tandem server` processes, A active and
 * replicated to B: it imports and runs a job on A, then after a planned
 * switchover (`tandem failover --to b`) its next requests, with the same
 * token and the same URL, succeed on B: projects and jobs are there, a run
 * starts and its output is followed to the end. (Compiled CLI: run
 * `npx tsc -p tsconfig.json` first.)
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
import { tempDir } from '../harness/tmp.js';
import { testLog } from '../harness/log.js';
import { root } from '../deploy/nginx-render.js';
import { startTandemServer } from '../deploy/tandem-process.js';
import { waitFor } from '../server/helpers.js';

const JOBS = readFileSync(new URL('./fixtures/jobs.yaml', import.meta.url), 'utf8');
const HELLO = '7d0c9a1e-0001-4c3a-9d7e-000000000001';
const up = (s: ServerStat[], name: string) => s.find((x) => x.name === name)?.status === 'UP';
const down = (s: ServerStat[], name: string) => s.find((x) => x.name === name)?.status === 'DOWN';

t.test('a Rundeck client keeps working across a planned switchover, through HAProxy, with the same token', async (t) => {
  const sites = await Promise.all(
    ['a', 'b'].map(async (name) => {
      const server = await startPostgres(t, { name: `rdlb-${name}` });
      const dbUrl = await server.createDatabase('tandem');
      await migrate(dbUrl);
      const port = await freePort();
      return { name, dbUrl, port, url: `http://127.0.0.1:${port}` };
    }),
  );
  const [a, b] = sites as [(typeof sites)[0], (typeof sites)[0]];
  await initSiteState({ databaseUrl: a.dbUrl, name: 'a', role: 'active', activeSite: 'a', activeUrl: a.url });
  await initSiteState({ databaseUrl: b.dbUrl, name: 'b', role: 'passive', activeSite: 'a', activeUrl: a.url });
  const tokenPool = new pg.Pool({ connectionString: a.dbUrl, max: 1 });
  const { token } = await createToken(tokenPool, { user: 'admin', roles: ['admin'] });
  await tokenPool.end();
  const stopReplication = new AbortController();
  const replication = runReplicator({ sourceUrl: a.dbUrl, targetUrl: writableUrl(b.dbUrl), log: testLog, signal: stopReplication.signal, retryDelayMs: 100 }).catch((e: Error) => e);
  t.teardown(async () => {
    stopReplication.abort();
    await replication;
  });
  const dir = await tempDir(t, 'rdlb-sites');
  const entries = { a: { databaseUrl: a.dbUrl, url: a.url }, b: { databaseUrl: b.dbUrl, url: b.url } };
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
        scheduler: { enabled: false },
      }),
    );
    await startTandemServer(t, ['--config', file], {}, s.port);
  }
  const lb = await startHaproxy(t, { servers: [{ name: 'a1', port: a.port }, { name: 'b1', port: b.port }], tagServer: true });
  await lb.waitFor((s) => up(s, 'a1') && down(s, 'b1'), 20_000, 'a1 up (active), b1 down (passive)');

  // The client: one base URL (the load balancer), one token, Rundeck's API at rundeck-cli's default version.
  const rd = async (method: string, p: string, body?: string, type = 'application/json') => {
    const res = await fetch(`${lb.url}/api/29${p}`, {
      method,
      headers: { 'X-Rundeck-Auth-Token': token, Accept: 'application/json', ...(body ? { 'Content-Type': type } : {}) },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    return { status: res.status, server: res.headers.get('x-lb-server'), json: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : undefined, text };
  };
  const runAndFollow = async (who: string) => {
    const run = await rd('POST', `/job/${HELLO}/run`, JSON.stringify({ options: { who } }));
    t.equal(run.status, 200, `run: ${run.text}`);
    const logs: string[] = [];
    let offset = 0;
    await waitFor(`output of ${run.json.id}`, async () => {
      const o = await rd('GET', `/execution/${run.json.id}/output?offset=${offset}&maxlines=500`);
      if (o.status !== 200) throw new Error(`output ${o.status}: ${o.text}`);
      logs.push(...o.json.entries.map((e: any) => e.log));
      offset = o.json.offset;
      return o.json.completed && o.json.execCompleted;
    });
    return { id: run.json.id as string, server: run.server, logs };
  };

  t.equal((await rd('POST', '/projects', JSON.stringify({ name: 'ops' }))).status, 201);
  const imported = await rd('POST', '/project/ops/jobs/import?dupeOption=update', JOBS, 'application/yaml');
  t.equal(imported.json?.succeeded?.length, 3, 'jobs imported on A');
  const onA = await runAndFollow('site a');
  t.same([onA.server, onA.logs.includes('hello site a')], ['a1', true], 'run and followed on A');

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
  t.equal(failover.code, 0, `tandem failover exits 0:\n${failover.out}`);
  await lb.waitFor((s) => up(s, 'b1') && down(s, 'a1'), 20_000, 'b1 up, a1 down');

  // The same client, the same token, the next requests: answered by B.
  const status = await rd('GET', '/system/executions/status');
  t.same([status.status, status.server, status.json], [200, 'b1', { executionMode: 'active' }], 'B is active');
  const projects = await rd('GET', '/projects');
  t.same([projects.status, projects.server, projects.json.map((p: any) => p.name)], [200, 'b1', ['ops']], 'projects replicated to B');
  const jobs = await rd('GET', '/project/ops/jobs');
  t.equal(jobs.json.length, 3, 'jobs replicated to B');
  const before = await rd('GET', `/execution/${onA.id}`);
  t.same([before.status, before.json.status], [200, 'succeeded'], "A's execution is known on B");
  const onB = await runAndFollow('site b');
  t.same([onB.server, onB.logs.includes('hello site b')], ['b1', true], 'a new run on B, followed to the end');
});
