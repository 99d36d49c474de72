/**
 * Running the built `tandem demo` from tests (`npx tsc -p tsconfig.json`
 * first): the process, its output, free ports, polling, and the check that
 * no PostgreSQL process of the demo is left.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { tempDir, type Teardown } from '../harness/tmp.js';
import { waitFor as harnessWaitFor } from '../harness/wait.js';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const JOB_ID = '6f1c2a9e-0d4b-4c55-9a57-7c1d1a3e0001';

export interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

export function demo(args: string[]): Run {
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
export async function freePortPair(): Promise<number> {
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

/** The harness's waitFor (test/harness/wait.ts) with this area's default: the demo starts two clusters and two servers. */
export function waitFor<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 60_000): Promise<T> {
  return harnessWaitFor(what, check, timeoutMs, 200);
}

export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)));
  try {
    return await Promise.race([p, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** The demo's PostgreSQL servers run with `-D DIR/x/pg/data`: none may be left once it exited. */
export function leftoverPostgres(dir: string): string[] {
  const r = spawnSync('pgrep', ['-af', `${dir}/`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.trim() && l.includes('postgres'));
}

export async function getJson(url: string, token?: string): Promise<{ status: number; body: any }> {
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

export async function stopWithSigint(t: Test, run: Run): Promise<void> {
  run.child.kill('SIGINT');
  const code = await withTimeout(run.exit, 60_000, 'demo to stop after SIGINT');
  t.equal(code, 0, 'exit 0 after SIGINT', { stderr: run.stderr().slice(-3000) });
  t.match(run.stdout(), /stopped\.\n$/);
}

export async function summary(run: Run): Promise<string> {
  await waitFor('the demo summary', async () => run.stdout().includes('Press Ctrl-C') || (run.child.exitCode !== null && Promise.reject(new Error(`demo exited: ${run.stderr().slice(-2000)}`))), 120_000);
  return run.stdout();
}


/** A demo directory, removed at teardown; as root the demo's PostgreSQL runs as user postgres, which must reach it (mkdtemp makes it 0700). */
export async function demoDir(t: Teardown, label: string): Promise<string> {
  const dir = await tempDir(t, label);
  chmodSync(dir, 0o755);
  return dir;
}

/** The command of a printed line (what comes before its `#` comment), run as printed from the repository with bash. */
export function runPrinted(line: string, extra = ''): { cmd: string; status: number | null; stdout: string; stderr: string } {
  const cmd = `${line.split('#')[0]!.trim()}${extra}`;
  const r = spawnSync('bash', ['-c', cmd], { cwd: repo, encoding: 'utf8', timeout: 120_000 });
  return { cmd, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Stop the demo still running at teardown (SIGINT, SIGKILL if that hangs). */
export function stopAtTeardown(t: Teardown, current: () => Run | undefined): void {
  t.teardown(async () => {
    const run = current();
    if (run && run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGINT');
      const killer = setTimeout(() => run.child.kill('SIGKILL'), 30_000);
      await run.exit;
      clearTimeout(killer);
    }
  });
}

/**
 * Runs the demo's sample job on a site with the `who` option. The job is
 * also scheduled every minute and does not allow multiple executions, so a
 * request that meets the scheduled run gets 409 (already running): that one
 * is asked again once the scheduled run has ended. Any other answer is
 * returned as it is, for the test to check.
 */
export async function runSampleJob(site: string, token: string, who: string): Promise<{ status: number; body: { id?: string; error?: { code: string; message: string } } }> {
  return waitFor(`a run of the sample job on ${site} that does not meet its scheduled run`, async () => {
    const r = await fetch(`${site}/api/v1/jobs/${JOB_ID}/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ options: { who } }),
    });
    const body = (await r.json()) as { id?: string; error?: { code: string; message: string } };
    if (r.status === 409 && /already running/.test(body.error?.message ?? '')) return false;
    return { status: r.status, body };
  });
}
