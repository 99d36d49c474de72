/**
 * Group `rundeck_api` (file named after the group, whose figures must start
 * with it): the cost of the Rundeck API layer (server/rundeck-api/) over
 * Tandem's own API for the same read, in the same run and the same server
 * process: `GET /api/47/execution/:id` vs `GET /api/v1/executions/:id`
 * requests per second, measured in alternating rounds (v1, rundeck, v1, ...)
 * so that drift in the machine's load hits both alike. Target ≥ 0.9: the
 * layer is a mapping, not a second stack.
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
import type { BenchGroup } from './report.js';

const ROUNDS = 4;
const ROUND_SECONDS = 3;
const CLIENTS = 16;

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

async function poll<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Requests per second of GET `path` with CLIENTS concurrent clients for ROUND_SECONDS. */
async function rps(url: string, headers: Record<string, string>): Promise<number> {
  let requests = 0;
  const started = Date.now();
  const until = started + ROUND_SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < until) {
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
        requests++;
      }
    }),
  );
  return requests / ((Date.now() - started) / 1000);
}

const bench: BenchGroup = async (report) => {
  const base = path.join(tmpdir(), `tandem-bench-rundeck-api-${process.pid}`);
  await rm(base, { recursive: true, force: true });
  await mkdir(base, { recursive: true });
  report.note(`Load average when the group started: ${loadavg().map((l) => l.toFixed(1)).join(', ')}.`);
  report.progress('starting embedded PostgreSQL');
  const db = await createEmbeddedPostgres({ dir: path.join(base, 'pg'), settings: { max_connections: 100 } });
  let server: ReturnType<typeof spawn> | undefined;
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  pool.on('error', (e) => process.stderr.write(`bench pool: an idle session was ended by the server: ${e.message}\n`));
  try {
    await migrate(db.url);
    const { token } = await createToken(pool, { user: 'bench', roles: ['admin'] });
    report.progress('starting tandem server');
    server = spawn(process.execPath, [path.join(repoRoot(), 'bin/tandem.js'), 'server', '--database-url', db.url, '--port', '0', '--member', 'bench', '--logs-dir', path.join(base, 'logs')], {
      env: { ...process.env, TANDEM_LOG_LEVEL: 'warn', TANDEM_LOG_FORMAT: 'json', TANDEM_DATABASE_POOL_SIZE: '20', TANDEM_SCHEDULER_ENABLED: 'false' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    server.stdout!.on('data', (b) => (out += b));
    const url = await poll('the server to listen', async () => /listening on (http:\/\/\S+)/.exec(out)?.[1], 30_000);
    const v1 = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const rd = { 'x-rundeck-auth-token': token, accept: 'application/json' };
    const api = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(url + p, { method, headers: v1, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    };
    await api('POST', '/api/v1/projects', { name: 'bench' });
    const imp = await api('POST', '/api/v1/projects/bench/jobs', [
      { name: 'greet', options: [{ name: 'who', value: 'world' }, { name: 'pw', secure: true }], sequence: { commands: [{ exec: 'echo hello' }, { exec: 'echo bye' }] } },
    ]);
    const e = await api('POST', `/api/v1/jobs/${imp.jobs[0].id}/run`, { options: { who: 'bench', pw: 'x' } });
    await poll('the execution to end', async () => (await api('GET', `/api/v1/executions/${e.id}`)).status === 'succeeded', 30_000);

    const tandem: number[] = [];
    const rundeck: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      report.progress(`round ${i + 1}/${ROUNDS}: ${CLIENTS} clients, ${ROUND_SECONDS} s per API`);
      tandem.push(await rps(`${url}/api/v1/executions/${e.id}`, v1));
      rundeck.push(await rps(`${url}/api/47/execution/${e.id}`, rd));
    }
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const tRps = sum(tandem) / ROUNDS;
    const rRps = sum(rundeck) / ROUNDS;
    report.figure('rundeck_api.v1_execution_rps', tRps, `GET /api/v1/executions/:id per second (${CLIENTS} clients, mean of ${ROUNDS} rounds alternating with the Rundeck API)`);
    report.figure('rundeck_api.execution_rps', rRps, `GET /api/47/execution/:id per second (same server, same execution, alternating rounds)`);
    report.figure('rundeck_api.overhead_ratio', rRps / tRps, 'Rundeck API rps / Tandem API rps for the same execution read (target ≥ 0.9)');
    report.note(`Rounds (v1 / rundeck rps): ${tandem.map((x, i) => `${x.toFixed(0)} / ${rundeck[i]!.toFixed(0)}`).join(', ')}. Server and client share the machine's cores.`);
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
