/**
 * A real job server for a test: fresh database on a harness PostgreSQL
 * cluster, migrated; filesystem log store in a temp dir; HTTP on a free
 * loopback port; an admin API token. Stopped at teardown, even on failure.
 */
import pg from 'pg';
import { loadConfig } from '../../server/config/load.js';
import type { Config } from '../../server/config/schema.js';
import { migrate } from '../../server/db/migrate.js';
import { startJobServer, type JobServer } from '../../server/app/job-server.js';
import { createToken } from '../../server/auth/tokens.js';
import { tempDir, type Teardown } from '../harness/tmp.js';
import type { TestPostgres } from '../harness/postgres.js';
import { testPool } from '../harness/pool.js';
import { testLog } from '../harness/log.js';
import { waitFor } from '../harness/wait.js';

export interface TestServer {
  server: JobServer;
  url: string;
  token: string;
  pool: pg.Pool;
  dbUrl: string;
  logsDir: string;
  config: Config;
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; text: string; headers: Headers }>;
}

let dbCounter = 0;

export async function testConfig(dbUrl: string, logsDir: string, overrides: Record<string, unknown> = {}): Promise<Config> {
  return loadConfig({
    env: {},
    // '' = no configuration file, whatever the working directory holds
    file: '',
    overrides: {
      'database.url': dbUrl,
      'server.port': 0,
      'server.host': '127.0.0.1',
      'logs.dir': logsDir,
      'executions.killGrace': 2000,
      'executions.abortPollInterval': 200,
      'server.drainTimeout': 5000,
      ...overrides,
    },
  });
}

export async function startTestServer(
  t: Teardown,
  pgServer: TestPostgres,
  opts: { overrides?: Record<string, unknown>; dbUrl?: string; logsDir?: string } = {},
): Promise<TestServer> {
  const dbUrl = opts.dbUrl ?? (await pgServer.createDatabase(`js_${process.pid}_${++dbCounter}`));
  await migrate(dbUrl);
  const logsDir = opts.logsDir ?? (await tempDir(t, 'logs'));
  const config = await testConfig(dbUrl, logsDir, { 'scheduler.enabled': false, ...opts.overrides });
  // CI keeps the error lines, so that a 500 in a CI run can be explained from its output.
  const log = testLog;
  const server = await startJobServer({ config, log });
  t.teardown(() => server.stop());
  const pool = testPool(t, { connectionString: dbUrl, max: 4 });
  const { token } = await createToken(pool, { user: 'admin', roles: ['admin'] });
  const api: TestServer['api'] = async (method, p, body, headers = {}) => {
    const h: Record<string, string> = { authorization: `Bearer ${token}`, ...headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json';
    }
    const res = await fetch(server.url + p, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
  return { server, url: server.url, token, pool, dbUrl, logsDir, config, api };
}

/** Tests of this area wait with the harness's waitFor. */
export { waitFor };

/** Wait until an execution has ended; returns its final JSON. */
export async function waitForEnd(ts: TestServer, id: string, timeoutMs = 30_000): Promise<any> {
  return waitFor(
    `execution ${id} to end`,
    async () => {
      const r = await ts.api('GET', `/api/v1/executions/${id}`);
      return ['succeeded', 'failed', 'aborted', 'timedout'].includes(r.body?.status) ? r.body : undefined;
    },
    timeoutMs,
  );
}

/** Every log entry of an execution, read by tailing the output endpoint until complete. */
export async function readOutput(ts: TestServer, id: string): Promise<any[]> {
  const entries: any[] = [];
  let offset = 0;
  await waitFor(`log of ${id} to be complete`, async () => {
    const r = await ts.api('GET', `/api/v1/executions/${id}/output?offset=${offset}`);
    if (r.status !== 200) throw new Error(`output: ${r.status} ${r.text}`);
    entries.push(...r.body.entries);
    offset = r.body.nextOffset;
    return r.body.complete;
  });
  return entries;
}

export function yamlHeaders(): Record<string, string> {
  return { 'content-type': 'application/yaml' };
}
