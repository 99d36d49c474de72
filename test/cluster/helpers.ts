/**
 * A site of several `tandem server` processes (cluster members) on one
 * database and one shared log directory, for the cluster tests. Needs the
 * compiled CLI (`npx tsc -p tsconfig.json`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type pg from 'pg';
import { startPostgres } from '../harness/postgres.js';
import { tempDir, type Teardown } from '../harness/tmp.js';
import { testPool } from '../harness/pool.js';
import { createToken } from '../../server/auth/tokens.js';
import { migrate } from '../../server/db/migrate.js';
import { waitFor } from '../server/helpers.js';

// The repository's bin/tandem.js, from test/cluster/ (tap) or dist/test/cluster/ (the compiled benchmarks).
const here = path.dirname(fileURLToPath(import.meta.url));
const tandem = [path.resolve(here, '../../bin/tandem.js'), path.resolve(here, '../../../bin/tandem.js')].find((f) => existsSync(f))!;

export type Api = (method: string, p: string, body?: unknown) => Promise<{ status: number; body: any }>;

export interface Member {
  name: string;
  child: ChildProcess;
  url: string;
  api: Api;
  output(): string;
}

export interface TestCluster {
  dbUrl: string;
  pool: pg.Pool;
  token: string;
  logsDir: string;
  start(name: string, env?: Record<string, string>): Promise<Member>;
}

export function client(url: string, token: string): Api {
  return async (method, p, body) => {
    const res = await fetch(url + p, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

export async function startCluster(t: Teardown, label: string, env: Record<string, string> = {}): Promise<TestCluster> {
  const server = await startPostgres(t, { name: label });
  const dbUrl = await server.createDatabase(label);
  await migrate(dbUrl);
  const pool = testPool(t, { connectionString: dbUrl, max: 3 });
  const { token } = await createToken(pool, { user: 'admin', roles: ['admin'] });
  const logsDir = await tempDir(t, `${label}-logs`);
  const start = async (name: string, more: Record<string, string> = {}): Promise<Member> => {
    const child = spawn(process.execPath, [tandem, 'server', '--database-url', dbUrl, '--port', '0', '--member', name, '--logs-dir', logsDir], {
      env: { ...process.env, TANDEM_LOG_FORMAT: 'json', ...env, ...more },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (b) => (out += b));
    child.stderr!.on('data', (b) => (out += b));
    t.teardown(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
        await once(child, 'exit');
      }
    });
    const url = await waitFor(`member ${name} to listen`, async () => {
      if (child.exitCode !== null) throw new Error(`member ${name} exited: ${out}`);
      return /listening on (http:\/\/\S+)/.exec(out)?.[1];
    });
    return { name, child, url, api: client(url, token), output: () => out };
  };
  return { dbUrl, pool, token, logsDir, start };
}

/** Kill a step's process group (steps outlive a member killed with -9). */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pgid a step printed as its first line (`echo "pgid $$"`). */
export async function stepPgid(api: Api, id: string): Promise<number> {
  return waitFor(`execution ${id} to print its pgid`, async () => {
    const out = await api('GET', `/api/v1/executions/${id}/output`);
    const line = (out.body.entries ?? []).map((e: any) => e.text).find((x: string) => x.startsWith('pgid '));
    return line ? Number(line.split(' ')[1]) : undefined;
  });
}
