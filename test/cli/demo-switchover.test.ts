/**
 * `tandem demo` across an interrupted switchover (built CLI first: `npx tsc
 * -p tsconfig.json`), two runs on one data directory:
 *
 * 1. A planned switchover a → b with --reverse stops right after fencing a
 *    (the failover's test failpoint, as if the command died there); the demo
 *    says no site is active and keeps b following a. SIGINT, exit 0.
 * 2. The demo starts with a fenced and b passive, prints the command that
 *    completes the switchover; run as printed (with --reverse) it makes b
 *    active and a passive; the demo then replicates b → a by itself: a job run
 *    on b, with its log, is served by a. SIGINT, exit 0, nothing left running.
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../server/config/load.js';
import { silentLogger } from '../../server/log.js';
import { runFailover } from '../../replicator/failover/index.js';
import { tempDir } from '../harness/tmp.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const JOB_ID = '6f1c2a9e-0d4b-4c55-9a57-7c1d1a3e0001';

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

function demo(args: string[]): Run {
  const child = spawn(process.execPath, [path.join(repo, 'bin/tandem.js'), 'demo', ...args], {
    cwd: repo,
    env: { ...process.env, TANDEM_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Both `port` and `port + 1` free on 127.0.0.1 (the demo's two job servers). */
async function freePortPair(): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    if ((await tryListen(port)) && (await tryListen(port + 1))) return port;
  }
  throw new Error('no two consecutive free ports found');
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** The demo's PostgreSQL servers run with `-D DIR/x/pg/data`: none may be left once it exited. */
function leftoverPostgres(dir: string): string[] {
  const r = spawnSync('pgrep', ['-af', `${dir}/`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() && l.includes('postgres'));
}

async function getJson(url: string, token?: string): Promise<{ status: number; body: any }> {
  try {
    const r = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(5000) });
    const text = await r.text();
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: r.status, body };
  } catch {
    return { status: 0, body: undefined };
  }
}

async function stopWithSigint(t: Test, run: Run): Promise<void> {
  run.child.kill('SIGINT');
  const code = await withTimeout(run.exit, 60_000, 'demo to stop after SIGINT');
  t.equal(code, 0, 'exit 0 after SIGINT', { stderr: run.stderr().slice(-3000) });
  t.match(run.stdout(), /stopped\.\n$/);
}

async function summary(run: Run): Promise<string> {
  await waitFor('the demo summary', async () => run.stdout().includes('Press Ctrl-C') || (run.child.exitCode !== null && Promise.reject(new Error(`demo exited: ${run.stderr().slice(-2000)}`))), 120_000);
  return run.stdout();
}

t.test('an interrupted switchover is completed with the printed command; the demo then replicates back', async (t) => {
  const dir = await tempDir(t, 'demo-switch');
  // As root the demo's PostgreSQL runs as user postgres, which must reach the directory (mkdtemp makes it 0700).
  chmodSync(dir, 0o755);
  const port = await freePortPair();
  const a = `http://127.0.0.1:${port}`;
  const b = `http://127.0.0.1:${port + 1}`;
  let running: Run | undefined;
  t.teardown(async () => {
    if (running && running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill('SIGINT');
      const killer = setTimeout(() => running!.child.kill('SIGKILL'), 30_000);
      await running.exit;
      clearTimeout(killer);
    }
  });
  let token = '';

  await t.test('first run: the switchover stops after fencing a', async (t) => {
    const run = (running = demo(['--dir', dir, '--port', String(port)]));
    const out = await summary(run);
    token = /export TOKEN=(\S+)/.exec(out)?.[1] ?? '';
    t.ok(token, 'token printed');
    const cfg = loadConfig({ file: path.join(dir, 'b/tandem.yaml'), env: {} });
    const lines: string[] = [];
    await t.rejects(
      runFailover({
        sites: cfg.sites!,
        to: 'b',
        reverse: true,
        drainTimeoutMs: 10_000,
        catchUpTimeoutMs: 30_000,
        sequenceMargin: 1000,
        schemas: ['tandem'],
        publication: 'tandem_pub',
        actor: 'test',
        out: (l) => lines.push(l),
        log: silentLogger,
        failAfter: 'fence',
      }),
      /failpoint/,
      'the switchover stops after the fence step',
    );
    await waitFor('the demo to report no active site', async () => run.stdout().includes('[demo] no site is active: a is fenced and b passive'), 30_000);
    t.pass('the demo says no site is active and how to finish');
    t.equal((await getJson(`${a}/health/active`)).status, 503, 'a (fenced) answers 503');
    t.equal((await getJson(`${b}/health/active`)).status, 503, 'b (passive) answers 503');
    await stopWithSigint(t, run);
    t.same(leftoverPostgres(dir), [], 'no PostgreSQL process left');
  });

  await t.test('second run: the printed command completes it; replication runs b → a', async (t) => {
    const run = (running = demo(['--dir', dir, '--port', String(port)]));
    const out = await summary(run);
    t.match(out, /site a: found fenced \(epoch 1\)/);
    t.match(out, /No site is active now/);
    const line = out.split('\n').find((l) => /failover --config \S+ --to b\s+# complete a switchover/.test(l));
    t.ok(line, 'the command that completes the switchover is printed');
    const cmd = `${line!.split('#')[0]!.trim()} --reverse`;
    const failover = spawnSync('bash', ['-c', cmd], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
    t.equal(failover.status, 0, `"${cmd}" exits 0`, { stdout: failover.stdout, stderr: failover.stderr });
    t.match(failover.stdout, /done: b is active \(epoch 2\); a is passive/);
    await waitFor('b to answer 200 on /health/active', async () => (await getJson(`${b}/health/active`)).status === 200, 30_000);
    t.equal((await getJson(`${a}/health/active`)).status, 503, 'a answers 503');
    await waitFor('the demo to replicate b → a', async () => run.stdout().includes('[demo] replication b → a started'), 30_000);
    t.pass('the demo started replication b → a');

    const started = await fetch(`${b}/api/v1/jobs/${JOB_ID}/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ options: { who: 'from-site-b' } }),
    });
    t.equal(started.status, 201, 'job run on b');
    const exec = (await started.json()) as { id: string };
    const copied = await waitFor('a to serve the execution log', async () => {
      const r = await getJson(`${a}/api/v1/executions/${exec.id}/output`, token);
      return r.status === 200 && r.body.complete && r.body;
    });
    t.ok(
      (copied.entries as Array<{ text: string }>).some((e) => e.text.includes('hello from-site-b')),
      'a serves the log copied from b',
    );
    await stopWithSigint(t, run);
    t.same(leftoverPostgres(dir), [], 'no PostgreSQL process left');
  });
});
