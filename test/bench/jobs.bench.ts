/**
 * The job server under load, as a separate `tandem server` process on an
 * embedded PostgreSQL (both on this machine):
 *  - run-to-running latency: from just before `POST /jobs/:id/run` to the
 *    execution's `started_at` (same clock), p50/p99 over sequential runs;
 *  - log ingestion: 100 concurrent executions each printing 10,000 lines;
 *    every line of every execution is checked to be stored, in order;
 *  - the server's peak RSS (VmHWM) over the whole group;
 *  - GET /api/v1/executions/:id requests/s with 32 concurrent clients.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createEmbeddedPostgres } from '../../server/embedded/postgres.js';
import { migrate } from '../../server/db/migrate.js';
import { createToken } from '../../server/auth/tokens.js';
import { percentile, type BenchGroup } from './report.js';

const LATENCY_RUNS = 200;
const CONCURRENT = 100;
const LINES = 10_000;
const RPS_SECONDS = 5;
const RPS_CLIENTS = 32;
const IMPORT_JOBS = 12_000;

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      readFileSync(path.join(dir, 'bin/tandem.js'));
      return dir;
    } catch {
      dir = path.dirname(dir);
    }
  }
  throw new Error('cannot find bin/tandem.js');
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

async function poll<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number, everyMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const bench: BenchGroup = async (report) => {
  const base = path.join(tmpdir(), `tandem-bench-jobs-${process.pid}`);
  await rm(base, { recursive: true, force: true });
  await mkdir(base, { recursive: true });
  report.note(`Load average when the group started: ${loadavg().map((l) => l.toFixed(1)).join(', ')} (other work on the machine slows every figure).`);
  report.progress('starting embedded PostgreSQL');
  const db = await createEmbeddedPostgres({ dir: path.join(base, 'pg'), settings: { max_connections: 200 } });
  let server: ReturnType<typeof spawn> | undefined;
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', (e) => process.stderr.write(`bench pool: an idle session was ended by the server: ${e.message}\n`));
  try {
    await migrate(db.url);
    const { token } = await createToken(pool, { user: 'bench', roles: ['admin'] });
    report.progress('starting tandem server');
    server = spawn(process.execPath, [path.join(repoRoot(), 'bin/tandem.js'), 'server', '--database-url', db.url, '--port', '0', '--member', 'bench', '--logs-dir', path.join(base, 'logs')], {
      env: { ...process.env, TANDEM_LOG_LEVEL: 'warn', TANDEM_LOG_FORMAT: 'json', TANDEM_DATABASE_POOL_SIZE: '20', TANDEM_SCHEDULER_ENABLED: 'false', TANDEM_SERVER_BODY_LIMIT: '64MB' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    server.stdout!.on('data', (b) => (out += b));
    const url = await poll('the server to listen', async () => /listening on (http:\/\/\S+)/.exec(out)?.[1], 30_000);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const api = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(url + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };
    await api('POST', '/api/v1/projects', { name: 'bench' });
    const imp = await api('POST', '/api/v1/projects/bench/jobs', [
      { name: 'noop', multipleExecutions: true, sequence: { commands: [{ exec: 'true' }] } },
      {
        name: 'chatty',
        multipleExecutions: true,
        sequence: { commands: [{ exec: `awk 'BEGIN { for (i = 1; i <= ${LINES}; i++) printf "line %d of a busy step printing its progress\\n", i }'` }] },
      },
    ]);
    const [noop, chatty] = imp.jobs.map((j: { id: string }) => j.id);

    // 1. run → running latency, sequential runs.
    report.progress(`run-to-running latency over ${LATENCY_RUNS} sequential runs`);
    const latencies: number[] = [];
    for (let i = 0; i < LATENCY_RUNS; i++) {
      const t0 = performance.now();
      const e = await api('POST', `/api/v1/jobs/${noop}/run`, {});
      // The answer says `running` when the request's transaction made it so (committed before the answer);
      // otherwise wait until the database says so.
      if (e.status !== 'running' && e.status !== 'succeeded') {
        await poll('running', async () => (await pool.query('select started_at from tandem.executions where id = $1', [e.id])).rows[0]?.started_at as Date | undefined, 10_000, 1);
      }
      latencies.push(performance.now() - t0);
    }
    latencies.sort((a, b) => a - b);
    report.figure('jobs.run_to_running_p50_ms', percentile(latencies, 50), 'ms from sending POST /jobs/:id/run to knowing the execution runs (its committed state), p50 over sequential runs');
    report.figure('jobs.run_to_running_p99_ms', percentile(latencies, 99), 'same, p99');
    await poll('latency runs to end', async () => (await pool.query(`select count(*)::int as n from tandem.executions where status in ('queued','running')`)).rows[0].n === 0, 60_000);

    // 2. 100 concurrent executions × 10,000 lines.
    report.progress(`${CONCURRENT} concurrent executions printing ${LINES} lines each`);
    const t0 = Date.now();
    const runs = await Promise.all(Array.from({ length: CONCURRENT }, () => api('POST', `/api/v1/jobs/${chatty}/run`, {})));
    const ids: string[] = runs.map((r: { id: string }) => r.id);
    await poll(
      'all chatty executions to end',
      async () => {
        const r = await pool.query(`select count(*)::int as n from tandem.executions where id = any($1::uuid[]) and status not in ('queued','running')`, [ids]);
        return r.rows[0].n === CONCURRENT;
      },
      600_000,
      10,
    );
    const ended = await pool.query(`select max(ended_at) as e, count(*) filter (where status = 'succeeded')::int as ok from tandem.executions where id = any($1::uuid[])`, [ids]);
    const elapsedS = (ended.rows[0].e.getTime() - t0) / 1000;
    if (ended.rows[0].ok !== CONCURRENT) throw new Error(`only ${ended.rows[0].ok} of ${CONCURRENT} executions succeeded`);
    report.progress('checking every stored line, in order');
    let total = 0;
    for (const id of ids) {
      let offset = 0;
      let expect = 1;
      for (;;) {
        const r = await api('GET', `/api/v1/executions/${id}/output?offset=${offset}&maxBytes=4194304`);
        for (const e of r.entries as { stream: string; text: string }[]) {
          if (e.stream !== 'stdout') continue;
          if (e.text !== `line ${expect} of a busy step printing its progress`) throw new Error(`execution ${id}: expected line ${expect}, got ${JSON.stringify(e.text)}`);
          expect++;
        }
        offset = r.nextOffset;
        if (r.complete) break;
      }
      if (expect - 1 !== LINES) throw new Error(`execution ${id}: ${expect - 1} lines stored, expected ${LINES}`);
      total += expect - 1;
    }
    report.figure('jobs.log_lines_per_s', total / elapsedS, `log lines stored per second, ${CONCURRENT} concurrent executions × ${LINES} lines (first POST to last execution ended)`);
    report.note(`${total} lines from ${CONCURRENT} concurrent executions stored in ${elapsedS.toFixed(2)} s, every line checked in order afterwards.`);

    // 3. GET /executions/:id throughput.
    report.progress(`GET /api/v1/executions/:id with ${RPS_CLIENTS} clients for ${RPS_SECONDS} s`);
    let requests = 0;
    const until = Date.now() + RPS_SECONDS * 1000;
    const startRps = Date.now();
    await Promise.all(
      Array.from({ length: RPS_CLIENTS }, async (_, i) => {
        while (Date.now() < until) {
          const res = await fetch(`${url}/api/v1/executions/${ids[i % ids.length]}`, { headers });
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`GET execution: ${res.status}`);
          requests++;
        }
      }),
    );
    report.figure('jobs.get_execution_rps', requests / ((Date.now() - startRps) / 1000), `GET /api/v1/executions/:id per second (${RPS_CLIENTS} concurrent clients on the same machine)`);
    // 4. Import of 12,000 jobs in one document (linear, set-based writes: a document of N jobs must not cost N round trips).
    report.progress(`importing ${IMPORT_JOBS} jobs in one document`);
    await api('POST', '/api/v1/projects', { name: 'bench-import' });
    const doc = Array.from({ length: IMPORT_JOBS }, (_, i) => ({
      name: `job-${i}`,
      group: `team-${i % 40}`,
      description: 'imported by the benchmark',
      options: [{ name: 'env', values: ['staging', 'production'], enforced: true }],
      sequence: { commands: [{ exec: 'echo ${option.env}' }] },
    }));
    const importStarted = process.hrtime.bigint();
    const imported = await api('POST', '/api/v1/projects/bench-import/jobs', doc);
    const importS = Number(process.hrtime.bigint() - importStarted) / 1e9;
    if (imported.created !== IMPORT_JOBS) throw new Error(`import created ${imported.created} jobs, expected ${IMPORT_JOBS}`);
    report.figure('jobs.import_12k_s', importS, `s to import ${IMPORT_JOBS} new jobs in one JSON document (POST /projects/:p/jobs, one transaction)`);

    // 5. Event-loop block while 8 clients post a 1 MB document nested 1,000,000 deep (parsing must not block the event loop): the server's own
    //    longest event-loop delay over the phase (nodejs_eventloop_lag_max_seconds, reset by each scrape of /metrics),
    //    and the longest /health/live round trip meanwhile (which includes this client's own delays).
    report.progress('posting deeply nested documents while timing /health/live');
    const deep = '['.repeat(1_000_000);
    // The same probe on a quiet server first: what the machine alone costs a round trip (noted beside the figure).
    let idle = 0;
    for (let i = 0; i < 50; i++) {
      const t0 = process.hrtime.bigint();
      await (await fetch(`${url}/health/live`)).arrayBuffer();
      idle = Math.max(idle, Number(process.hrtime.bigint() - t0) / 1e6);
    }
    const lagMax = async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(/^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? NaN) * 1000;
    };
    await lagMax();
    let longest = 0;
    let posting = true;
    const prober = (async () => {
      while (posting) {
        const t0 = process.hrtime.bigint();
        await (await fetch(`${url}/health/live`)).arrayBuffer();
        longest = Math.max(longest, Number(process.hrtime.bigint() - t0) / 1e6);
      }
    })();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let i = 0; i < 5; i++) {
          const res = await fetch(`${url}/api/v1/projects/bench-import/jobs`, { method: 'POST', headers, body: deep });
          await res.arrayBuffer();
          if (res.status !== 400) throw new Error(`deep document: ${res.status}, expected 400`);
        }
      }),
    );
    posting = false;
    await prober;
    const blocked = await lagMax();
    report.figure('security.deep_json_block_ms', blocked, "the server's longest event-loop delay while 8 clients post 1 MB JSON documents nested 1,000,000 deep, 5 each (nodejs_eventloop_lag_max_seconds; target < 100 ms)");
    report.note(
      `While the deep documents were posted, the longest GET /health/live round trip was ${longest.toFixed(1)} ms (the longest of 50 to the idle server: ${idle.toFixed(1)} ms; both include this client's own delays on the shared machine).`,
    );
    report.figure('jobs.peak_rss_mb', peakRssMb(server.pid!), 'peak RSS (VmHWM) of the tandem server process over the whole group');
    report.note('Server and benchmark client share the 2 cores. Run-to-running is the full client round trip of POST /run (the execution is committed as running before the answer).');
  } finally {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    await pool.end();
    await db.stop('fast');
    await rm(base, { recursive: true, force: true });
  }
};

export default bench;
