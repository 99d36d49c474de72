/** Run `tandem` (compiled: run `npx tsc -p tsconfig.json` first) as a child process. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Teardown } from '../harness/tmp.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The checkout: two levels up from test/replicator/, three from its compiled copy in dist/test/replicator/ (test/bench/soak.ts). */
export const repoRoot = [path.resolve(here, '../..'), path.resolve(here, '../../..')].find((d) => existsSync(path.join(d, 'bin/tandem.js')))!;

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnTandem(t: Teardown, args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/tandem.js'), ...args], {
    cwd: repoRoot,
    env: { ...process.env, TANDEM_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Run to completion. */
export async function runTandem(t: Teardown, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = spawnTandem(t, args, env);
  const { code } = await r.exited;
  return { code, stdout: r.stdout(), stderr: r.stderr() };
}
