/**
 * The `tandem server` process itself: kill -9 during an execution and
 * restart (the execution is closed as failed with a reason, its log kept),
 * and SIGTERM draining. Needs the compiled CLI (`npx tsc -p tsconfig.json`).
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { startPostgres } from '../harness/postgres.js';
import { tempDir, type Teardown } from '../harness/tmp.js';
import { createToken } from '../../server/auth/tokens.js';
import { migrate } from '../../server/db/migrate.js';
import { waitFor } from './helpers.js';
import { testPool } from '../harness/pool.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tandem = path.join(repo, 'bin/tandem.js');

interface Proc {
  child: ChildProcess;
  url: string;
  output: () => string;
}

async function startServer(t: Teardown, dbUrl: string, logsDir: string, env: Record<string, string> = {}): Promise<Proc> {
  const child = spawn(process.execPath, [tandem, 'server', '--database-url', dbUrl, '--port', '0', '--member', 'member-1', '--logs-dir', logsDir], {
    env: { ...process.env, TANDEM_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  });
  const url = await waitFor('the server to listen', async () => {
    if (child.exitCode !== null) throw new Error(`server exited: ${out}`);
    return /listening on (http:\/\/\S+)/.exec(out)?.[1];
  });
  return { child, url, output: () => out };
}

function client(url: string, token: string) {
  return async (method: string, p: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(url + p, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

function killGroup(pgid: number) {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

t.test('tandem server process', async (t) => {
  const server = await startPostgres(t, { name: 'restart' });

  await t.test('kill -9 during an execution, restart: the execution is closed as failed, its log kept', async (t) => {
    const dbUrl = await server.createDatabase('crash');
    await migrate(dbUrl);
    const pool = testPool(t, { connectionString: dbUrl, max: 2 });
    const { token } = await createToken(pool, { user: 'admin', roles: ['admin'] });
    const logsDir = await tempDir(t, 'crash-logs');
    const first = await startServer(t, dbUrl, logsDir);
    let api = client(first.url, token);
    t.equal((await api('POST', '/api/v1/projects', { name: 'ops' })).status, 201);
    const imp = await api('POST', '/api/v1/projects/ops/jobs', [
      { name: 'long', sequence: { commands: [{ exec: 'echo "pgid $$"; for i in 1 2 3; do echo "line $i"; done; sleep 300' }] } },
    ]);
    const run = await api('POST', `/api/v1/jobs/${imp.body.jobs[0].id}/run`, {});
    t.equal(run.status, 201);
    const id = run.body.id;
    const pgid = await waitFor('the step to print its lines (flushed within a second)', async () => {
      const out = await api('GET', `/api/v1/executions/${id}/output`);
      const texts = out.body.entries.map((e: any) => e.text);
      if (!texts.includes('line 3')) return undefined;
      return Number(texts.find((x: string) => x.startsWith('pgid ')).split(' ')[1]);
    });
    t.teardown(() => killGroup(pgid));

    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    const mid = await pool.query('select status from tandem.executions where id = $1', [id]);
    t.equal(mid.rows[0].status, 'running', 'after the crash the database still says running');
    // The step was detached from the dead server; in production it dies with the machine or is left to the operator.
    killGroup(pgid);

    const second = await startServer(t, dbUrl, logsDir);
    api = client(second.url, token);
    const e = await api('GET', `/api/v1/executions/${id}`);
    t.equal(e.body.status, 'failed', 'closed at restart');
    t.match(e.body.statusReason, /server stopped while the execution was running/);
    t.equal(e.body.steps[0].status, 'failed');
    const out = await api('GET', `/api/v1/executions/${id}/output`);
    const texts = out.body.entries.map((x: any) => x.text);
    t.ok(['line 1', 'line 2', 'line 3'].every((l) => texts.includes(l)), 'the lines written before the crash are kept');
    t.match(texts[texts.length - 1], /execution failed: the server stopped/);
    t.equal(out.body.complete, true, 'the log is complete');
    const obj = await pool.query('select complete, size, sha256 from tandem.log_objects where execution_id = $1', [id]);
    t.equal(obj.rows[0].complete, true);
    t.equal(Number(obj.rows[0].size), out.body.nextOffset, 'the recorded size is the log size');
    second.child.kill('SIGTERM');
    await once(second.child, 'exit');
  });

  await t.test('SIGTERM drains: running executions finish, new runs are refused, the rest are aborted at the drain timeout', async (t) => {
    const dbUrl = await server.createDatabase('drain');
    await migrate(dbUrl);
    const pool = testPool(t, { connectionString: dbUrl, max: 2 });
    const { token } = await createToken(pool, { user: 'admin', roles: ['admin'] });
    const logsDir = await tempDir(t, 'drain-logs');
    // The drain timeout must leave the short runs (`sleep 1`) time to finish on a loaded machine: with 3 s, a CI-like
    // load (load average ~16 on 2 cores) once had the short execution aborted at the timeout instead of finishing.
    const srv = await startServer(t, dbUrl, logsDir, { TANDEM_SERVER_DRAIN_TIMEOUT: '10s' });
    const api = client(srv.url, token);
    await api('POST', '/api/v1/projects', { name: 'ops' });
    const imp = await api('POST', '/api/v1/projects/ops/jobs', [
      { name: 'short', multipleExecutions: true, sequence: { commands: [{ exec: 'sleep 1; echo finished' }] } },
      { name: 'endless', sequence: { commands: [{ exec: 'sleep 300' }] } },
    ]);
    const [shortJob, endlessJob] = imp.body.jobs.map((j: any) => j.id);
    const short = await api('POST', `/api/v1/jobs/${shortJob}/run`, {});
    const endless = await api('POST', `/api/v1/jobs/${endlessJob}/run`, {});
    await waitFor('both executions to run', async () => {
      const r = await pool.query(`select count(*)::int as n from tandem.executions where status = 'running'`);
      return r.rows[0].n === 2;
    });
    srv.child.kill('SIGTERM');
    // Runs sent before the server has seen the signal are accepted (and then drained like the others).
    const acceptedBeforeDrain: string[] = [];
    const refused = await waitFor('a run to be refused while draining', async () => {
      const r = await api('POST', `/api/v1/jobs/${shortJob}/run`, {}).catch(() => undefined);
      if (r?.status === 201) acceptedBeforeDrain.push(r.body.id);
      return r && r.status !== 201 ? r : undefined;
    });
    t.same([refused.status, refused.body.error.code], [503, 'unavailable'], 'new executions are refused while draining');
    const [code] = await once(srv.child, 'exit');
    t.equal(code, 0, 'the server exits cleanly');
    const rows = await pool.query('select id, status, status_reason from tandem.executions order by created_at');
    const byId = new Map(rows.rows.map((r) => [r.id, r]));
    t.equal(rows.rows.length, 2 + acceptedBeforeDrain.length, 'no execution was created once draining');
    for (const id of acceptedBeforeDrain) t.equal(byId.get(id)!.status, 'succeeded', 'a run accepted just before the drain finished during it');
    t.equal(byId.get(short.body.id)!.status, 'succeeded', 'the short execution finished during the drain');
    t.equal(byId.get(endless.body.id)!.status, 'aborted', 'the endless one was aborted at the drain timeout');
    t.match(byId.get(endless.body.id)!.status_reason, /server shutdown/);
  });
});
