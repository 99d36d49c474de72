/**
 * A real `tandem server` process for deployment tests (compiled CLI: run
 * `npx tsc -p tsconfig.json` first), on a free loopback port, stopped at the
 * test's teardown even when the test fails.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../../server/embedded/net.js';
import type { Teardown } from '../harness/tmp.js';
import { root } from './nginx-render.js';
import { waitFor } from '../harness/wait.js';

export interface TandemServer {
  url: string;
  port: number;
  /** The process's stderr so far (JSON log lines). */
  stderr(): string;
  stop(): Promise<void>;
}

/** `port`: the port to listen on (default: a free one); it is passed as --port, which wins over the config file. */
export async function startTandemServer(t: Teardown, args: string[], env: NodeJS.ProcessEnv = {}, port?: number): Promise<TandemServer> {
  port ??= await freePort();
  const child = spawn(process.execPath, [path.join(root, 'bin/tandem.js'), 'server', '--host', '127.0.0.1', '--port', String(port), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, TANDEM_LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  t.teardown(stop);
  const url = `http://127.0.0.1:${port}`;
  let last = '';
  await waitFor(
    'tandem server to answer 200 on /health/live',
    async () => {
      if (child.exitCode !== null) throw new Error(`tandem server exited (code ${child.exitCode}) during start:\n${err}`);
      return fetch(url + '/health/live', { signal: AbortSignal.timeout(2000) }).then(
        async (r) => {
          last = `status ${r.status}: ${await r.text()}`;
          return r.status === 200;
        },
        (e: Error) => ((last = `${e.message} ${(e.cause as Error | undefined)?.message ?? ''}`), false),
      );
    },
    60_000,
    50,
  ).catch((e: Error) => {
    throw e.message.startsWith('timed out') ? new Error(`${e.message}; last answer: ${last}\n${err}`) : e;
  });
  return { url, port, stderr: () => err, stop };
}
