/**
 * A Koa app built from the auth pieces exactly as the job server wires them
 * (authenticate in front, authRoutes mounted, handlers calling authorize),
 * on a real PostgreSQL database, listening on 127.0.0.1. Stopped at teardown.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import Router from '@koa/router';
import pg from 'pg';
import { loadConfig } from '../../server/config/load.js';
import type { Config } from '../../server/config/schema.js';
import { migrate } from '../../server/db/migrate.js';
import { type Logger } from '../../server/log.js';
import { authenticate, authorize, authRoutes, type AuthDeps } from '../../server/auth/middleware.js';
import { errorMiddleware } from '../../server/http/errors.js';
import type { PolicySet } from '../../server/auth/acl/evaluate.js';
import type { TestPostgres } from '../harness/postgres.js';
import type { Teardown } from '../harness/tmp.js';
import { testLog } from '../harness/log.js';

export interface AuthApp {
  url: string;
  pool: pg.Pool;
  config: Config;
  deps: AuthDeps;
}

let dbCounter = 0;

export async function startAuthApp(
  t: Teardown,
  pgServer: TestPostgres,
  overrides: Record<string, unknown> = {},
  opts: { policies?: PolicySet; databaseUrl?: string; log?: Logger } = {},
): Promise<AuthApp> {
  const dbUrl = opts.databaseUrl ?? (await pgServer.createDatabase(`auth_${process.pid}_${++dbCounter}`));
  if (!opts.databaseUrl) await migrate(dbUrl);
  const config = loadConfig({ env: {}, file: '', overrides: { 'database.url': dbUrl, ...overrides } });
  const pool = new pg.Pool({ connectionString: dbUrl, max: 10 });
  // As in the job server (server/app/job-server.ts): an idle connection ended by the server (here: the
  // cluster stopping at teardown) is dropped by the pool; without a listener the event would crash the test.
  pool.on('error', (e) => process.stderr.write(`auth test pool: idle connection ended: ${e.message}\n`));
  const deps: AuthDeps = { pool, config, log: opts.log ?? testLog, policies: opts.policies };
  const app = new Koa();
  // As in the job server (server/http/app.ts): one error exit for every route.
  app.use(errorMiddleware(deps.log));
  app.use(authenticate(deps));
  const routes = authRoutes(deps);
  app.use(routes.routes()).use(routes.allowedMethods());
  // Stand-ins for job-server routes: each checks the policy as the real handlers do.
  const api = new Router();
  api.get('/api/v1/projects/:project/jobs/:name', (ctx) => {
    authorize(ctx, 'read', { type: 'job', project: ctx.params.project, job: { name: ctx.params.name! } });
    ctx.body = { job: ctx.params.name };
  });
  api.post('/api/v1/projects/:project/jobs/:name/run', (ctx) => {
    authorize(ctx, 'run', { type: 'job', project: ctx.params.project, job: { name: ctx.params.name! } });
    ctx.status = 201;
    ctx.body = { started: ctx.params.name };
  });
  api.delete('/api/v1/projects/:project/jobs/:name', (ctx) => {
    authorize(ctx, 'delete', { type: 'job', project: ctx.params.project, job: { name: ctx.params.name! } });
    ctx.status = 204;
  });
  app.use(api.routes());
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await pool.end();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pool, config, deps };
}

/** fetch with JSON in and out. */
export async function call(
  url: string,
  opts: { method?: string; token?: string; cookie?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method: opts.method ?? 'GET', headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), redirect: 'manual' });
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON (HTML pages): keep the text */
  }
  return { status: res.status, body, headers: res.headers };
}

/** The harness's one waitFor (what, check, timeoutMs): auth tests import it from here with their other helpers. */
export { waitFor } from '../harness/wait.js';
