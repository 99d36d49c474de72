/**
 * The cost of a Prometheus scrape: a job server (in this process) on an
 * embedded PostgreSQL holding 10,000 finished executions, initialised as
 * site `a` with a logical replication slot (so the site and slot queries of
 * a scrape have something to read), after a little HTTP traffic and a few
 * executions so that every metric family has series. Then sequential
 * `GET /metrics`, timed end to end, p50 and p99; and the same for the
 * replicator's listener (slot, lag and object-copy readings).
 */
import { mkdir, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../server/config/load.js';
import { createEmbeddedPostgres } from '../../server/embedded/postgres.js';
import { migrate } from '../../server/db/migrate.js';
import { startJobServer } from '../../server/app/job-server.js';
import { createToken } from '../../server/auth/tokens.js';
import { silentLogger } from '../../server/log.js';
import { initSiteState } from '../../server/site/init.js';
import { withReplicatorMetrics } from '../../replicator/metrics/run-with-metrics.js';
import { percentile, type BenchGroup } from './report.js';

const EXECUTIONS = 10_000;
const SCRAPES = 300;

async function timeScrapes(url: string, n: number): Promise<{ sorted: number[]; bytes: number }> {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const res = await fetch(url);
    const text = await res.text();
    ms.push(performance.now() - t0);
    if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${text}`);
    bytes = text.length;
  }
  return { sorted: ms.sort((a, b) => a - b), bytes };
}

const bench: BenchGroup = async (report) => {
  const base = path.join(tmpdir(), `tandem-bench-metrics-${process.pid}`);
  await rm(base, { recursive: true, force: true });
  await mkdir(base, { recursive: true });
  report.note(`Load average when the group started: ${loadavg().map((l) => l.toFixed(1)).join(', ')}.`);
  report.progress('starting embedded PostgreSQL');
  const db = await createEmbeddedPostgres({ dir: path.join(base, 'pg') });
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  pool.on('error', (e) => process.stderr.write(`bench pool: an idle session was ended by the server: ${e.message}\n`));
  try {
    await migrate(db.url);
    await initSiteState({ databaseUrl: db.url, name: 'a', role: 'active', activeSite: 'a', activeUrl: 'http://127.0.0.1:4440' });
    await pool.query(`select pg_create_logical_replication_slot('tandem_bench', 'pgoutput')`);
    const config = loadConfig({
      env: {},
      file: '',
      overrides: { 'database.url': db.url, 'server.port': 0, 'logs.dir': path.join(base, 'logs'), 'scheduler.enabled': false, site: 'a' },
    });
    const server = await startJobServer({ config, log: silentLogger });
    try {
      const { token } = await createToken(pool, { user: 'bench', roles: ['admin'] });
      const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
      await fetch(`${server.url}/api/v1/projects`, { method: 'POST', headers, body: JSON.stringify({ name: 'ops' }) });
      const imported = await fetch(`${server.url}/api/v1/projects/ops/jobs`, {
        method: 'POST',
        headers,
        body: JSON.stringify([{ name: 'echo', multipleExecutions: true, sequence: { commands: [{ exec: 'echo hello' }] } }]),
      });
      const jobId = ((await imported.json()) as { jobs: Array<{ id: string }> }).jobs[0]!.id;
      report.progress('running a few executions through the API');
      for (let i = 0; i < 5; i++) {
        const run = (await (await fetch(`${server.url}/api/v1/jobs/${jobId}/run`, { method: 'POST', headers, body: '{}' })).json()) as { id: string };
        await server.engine.wait(run.id);
      }
      report.progress(`copying them into ${EXECUTIONS} executions`);
      const cols = (
        await pool.query<{ c: string }>(
          `select quote_ident(column_name) as c from information_schema.columns where table_schema = 'tandem' and table_name = 'executions' and column_name <> 'id' order by ordinal_position`,
        )
      ).rows.map((r) => r.c);
      const have = (await pool.query<{ n: number }>('select count(*)::int as n from tandem.executions')).rows[0]!.n;
      await pool.query(
        `insert into tandem.executions (${cols.join(', ')})
         select ${cols.map((c) => `e.${c}`).join(', ')} from (select * from tandem.executions limit 1) e, generate_series(1, $1)`,
        [EXECUTIONS - have],
      );
      await pool.query('analyze tandem.executions');
      const total = (await pool.query<{ n: number }>('select count(*)::int as n from tandem.executions')).rows[0]!.n;
      report.note(`${total} executions in the database, site \`a\` active, one logical replication slot.`);

      report.progress(`${SCRAPES} sequential scrapes of the job server`);
      await timeScrapes(`${server.url}/metrics`, 20); // warm-up: connections, JIT
      const js = await timeScrapes(`${server.url}/metrics`, SCRAPES);
      report.figure('metrics.scrape_ms', percentile(js.sorted, 50), `job server GET /metrics, p50 over ${SCRAPES} sequential scrapes, ${total} executions in the database`);
      report.figure('metrics.scrape_p99_ms', percentile(js.sorted, 99), 'job server GET /metrics, p99');
      report.figure('metrics.scrape_bytes', js.bytes, 'size of one job server scrape (text format)');

      report.progress(`${SCRAPES} sequential scrapes of a replicator's listener`);
      await pool.query('create database replica');
      const targetUrl = db.urlFor('replica');
      await migrate(targetUrl);
      const rp = await withReplicatorMetrics({ listen: { host: '127.0.0.1', port: 0 }, sourceUrl: db.url, targetUrl, slot: 'tandem_bench', log: silentLogger }, async (_m, listener) => {
        await timeScrapes(`${listener!.url}/metrics`, 20);
        return timeScrapes(`${listener!.url}/metrics`, SCRAPES);
      });
      report.figure('metrics.replicator_scrape_ms', percentile(rp.sorted, 50), `replicator GET /metrics (slot, lag and object-copy readings), p50 over ${SCRAPES} scrapes`);
    } finally {
      await server.stop();
    }
  } finally {
    await pool.end();
    await db.stop('fast');
    await rm(base, { recursive: true, force: true });
  }
};

export default bench;
