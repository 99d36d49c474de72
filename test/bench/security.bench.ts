/**
 * Security under load: how long one hostile request can hold a member's
 * event loop.
 *
 *  - `security.redos_block_ms`: a job whose option `regex` is the classic
 *    catastrophic-backtracking pattern `^(a+)+$` is run through the real
 *    route (POST /api/v1/jobs/:id/run) with adversarial values ("a" × n + "b",
 *    n from 30 to 100,000); the figure is the longest event-loop block of the
 *    server process while those requests are answered (perf_hooks
 *    monitorEventLoopDelay, 1 ms resolution). With JavaScript's backtracking
 *    engine n = 30 alone blocked for 82 s; on RE2 matching is linear.
 *    Target < 50 ms.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { startJobServer } from '../../server/app/job-server.js';
import { createToken } from '../../server/auth/tokens.js';
import { loadConfig } from '../../server/config/load.js';
import { migrate } from '../../server/db/migrate.js';
import { createEmbeddedPostgres } from '../../server/embedded/postgres.js';
import { silentLogger } from '../../server/log.js';
import pg from 'pg';
import type { BenchGroup } from './report.js';

const LENGTHS = [30, 100, 1_000, 10_000, 100_000];
const ROUNDS = 5;

const bench: BenchGroup = async (report) => {
  const base = path.join(tmpdir(), `tandem-bench-security-${process.pid}`);
  await rm(base, { recursive: true, force: true });
  report.progress('starting embedded PostgreSQL and a job server');
  const db = await createEmbeddedPostgres({ dir: path.join(base, 'pg') });
  try {
    await migrate(db.url);
    const config = loadConfig({
      env: {},
      file: '',
      overrides: { 'database.url': db.url, 'server.port': 0, 'logs.dir': path.join(base, 'logs'), 'scheduler.enabled': false },
    });
    const server = await startJobServer({ config, log: silentLogger });
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    try {
      const { token } = await createToken(pool, { user: 'bench', roles: ['admin'] });
      const api = async (method: string, p: string, body: unknown) => {
        const res = await fetch(server.url + p, {
          method,
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as any };
      };
      await api('POST', '/api/v1/projects', { name: 'bench' });
      const imp = await api('POST', '/api/v1/projects/bench/jobs', [
        { name: 'redos', options: [{ name: 'v', regex: '^(a+)+$' }], sequence: { commands: [{ exec: 'true' }] } },
      ]);
      if (imp.status !== 201) throw new Error(`import failed: ${JSON.stringify(imp.body)}`);
      const id = imp.body.jobs[0].id as string;
      // Warm up (route, statement preparation, pattern compilation) before measuring.
      await api('POST', `/api/v1/jobs/${id}/run`, { options: { v: 'ab' } });
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      let refused = 0;
      const started = performance.now();
      for (let r = 0; r < ROUNDS; r++) {
        for (const n of LENGTHS) {
          const res = await api('POST', `/api/v1/jobs/${id}/run`, { options: { v: 'a'.repeat(n) + 'b' } });
          if (res.status === 400) refused++;
        }
      }
      const wallMs = performance.now() - started;
      h.disable();
      if (refused !== ROUNDS * LENGTHS.length) throw new Error(`expected every adversarial value to be refused, ${refused} were`);
      report.figure(
        'security.redos_block_ms',
        h.max / 1e6,
        "longest event-loop block of the server while it refuses option values 'a'×n+'b' (n up to 100,000) against regex ^(a+)+$ (target < 50)",
      );
      report.note(
        `security: ${ROUNDS * LENGTHS.length} adversarial run requests (n = ${LENGTHS.join(', ')}), all answered 400, in ${wallMs.toFixed(0)} ms; ` +
          `event-loop delay p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms, load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} CPUs ` +
          `(a busy machine's scheduling counts in the block). The client runs in the server's process, so its own work counts too.`,
      );
    } finally {
      await pool.end();
      await server.stop();
    }
  } finally {
    await db.stop('fast');
    await rm(base, { recursive: true, force: true });
  }
};

export default bench;
