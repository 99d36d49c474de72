/**
 * Two or three real sites for failover tests: per site a harness PostgreSQL
 * cluster (migrated, `tandem site init`), optionally a job server (the
 * in-process app factory) and a replicator between sites; a watcher that
 * polls every site's /health/active and records any moment two sites
 * answered 200. Everything is stopped at teardown.
 */
import pg from 'pg';
import { loadConfig } from '../../server/config/load.js';
import type { Config, SiteEntry } from '../../server/config/schema.js';
import { migrate } from '../../server/db/migrate.js';
import { startJobServer, type JobServer } from '../../server/app/job-server.js';
import { createToken } from '../../server/auth/tokens.js';
import { initSiteState } from '../../server/site/init.js';
import { writableUrl } from '../../server/site/connect.js';
import { runReplicator, type ReplicatorResult } from '../../replicator/index.js';
import type { ApplyHook } from '../../replicator/apply/hooks.js';
import { runFailover, type FailoverOptions, type FailoverResult } from '../../replicator/failover/index.js';
import { startPostgres, type TestPostgres } from '../harness/postgres.js';
import { tempDir, type Teardown } from '../harness/tmp.js';
import { freePort } from '../../server/embedded/net.js';
import { testLog } from '../harness/log.js';

export interface TestSite {
  name: string;
  pg: TestPostgres;
  dbUrl: string;
  /** The job server's URL (fixed port, so it is known before the server starts). */
  url: string;
  port: number;
  /** Superuser queries on this site's database, read-write whatever the site's role. */
  q<R extends pg.QueryResultRow = any>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  server?: JobServer;
  logsDir: string;
}

export interface Sites {
  a: TestSite;
  b: TestSite;
  c?: TestSite;
  all: TestSite[];
  entries: Record<string, SiteEntry>;
  token: string;
}

export async function startSites(t: Teardown, names: string[] = ['a', 'b']): Promise<Sites> {
  const list = await Promise.all(
    names.map(async (name) => {
      const server = await startPostgres(t, { name: `site-${name}` });
      const dbUrl = await server.createDatabase('tandem');
      await migrate(dbUrl);
      const port = await freePort();
      const logsDir = await tempDir(t, `logs-${name}`);
      const pool = new pg.Pool({ connectionString: writableUrl(dbUrl), max: 3 });
      // Idle connections break when a test kills this site's PostgreSQL; the next query reconnects.
      pool.on('error', () => undefined);
      t.teardown(() => pool.end());
      const site: TestSite = {
        name,
        pg: server,
        dbUrl,
        port,
        logsDir,
        url: `http://127.0.0.1:${port}`,
        q: (sql, params) => pool.query(sql, params),
      };
      return site;
    }),
  );
  const entries: Record<string, SiteEntry> = Object.fromEntries(list.map((s) => [s.name, { databaseUrl: s.dbUrl, url: s.url }]));
  for (const [i, s] of list.entries()) {
    await initSiteState({ databaseUrl: s.dbUrl, name: s.name, role: i === 0 ? 'active' : 'passive', activeSite: list[0]!.name, activeUrl: list[0]!.url });
  }
  const tokenPool = new pg.Pool({ connectionString: list[0]!.dbUrl, max: 1 });
  const { token } = await createToken(tokenPool, { user: 'admin', roles: ['admin'] });
  await tokenPool.end();
  return { a: list[0]!, b: list[1]!, c: list[2], all: list, entries, token };
}

export async function siteConfig(site: TestSite, sites: Sites, overrides: Record<string, unknown> = {}): Promise<Config> {
  return loadConfig({
    env: {},
    file: '',
    overrides: {
      'database.url': site.dbUrl,
      'server.port': site.port,
      'server.host': '127.0.0.1',
      'server.memberName': `member-${site.name}`,
      'logs.dir': site.logsDir,
      'executions.killGrace': 1000,
      'executions.abortPollInterval': 100,
      'server.drainTimeout': 3000,
      'scheduler.interval': 200,
      'failover.checkInterval': 200,
      site: site.name,
      sites: sites.entries,
      ...overrides,
    },
  });
}

/** Start (or restart) the job server of a site; stopped at teardown. */
export async function startSiteServer(t: Teardown, site: TestSite, sites: Sites, overrides: Record<string, unknown> = {}): Promise<JobServer> {
  const config = await siteConfig(site, sites, overrides);
  const server = await startJobServer({ config, log: testLog.child({ component: 'server', site: site.name }) });
  site.server = server;
  t.teardown(() => server.stop());
  return server;
}

export interface Replication {
  /** Stop it and wait for it to end (returns its result, or the error it stopped with). */
  stop(): Promise<ReplicatorResult | Error>;
  done: Promise<ReplicatorResult | Error>;
}

/** A replicator from → to, running until stopped (or until it fails). */
export function startReplication(t: Teardown, from: TestSite, to: TestSite, opts: { hooks?: ApplyHook[] } = {}): Replication {
  const ac = new AbortController();
  const log = testLog.child({ component: `replicator ${from.name}→${to.name}` });
  const done = runReplicator({ sourceUrl: from.dbUrl, targetUrl: to.dbUrl, log, signal: ac.signal, retryDelayMs: 100, slotCheckIntervalMs: 1000, hooks: opts.hooks }).catch(
    (e: Error) => e,
  );
  const stop = async () => {
    ac.abort();
    return done;
  };
  t.teardown(stop);
  return { stop, done };
}

export function failoverOptions(sites: Sites, o: Partial<FailoverOptions> & { to: string }, lines: string[] = []): FailoverOptions {
  return {
    sites: sites.entries,
    drainTimeoutMs: 10_000,
    catchUpTimeoutMs: 30_000,
    sequenceMargin: 1000,
    schemas: ['tandem'],
    publication: 'tandem_pub',
    actor: 'test',
    out: (l) => {
      lines.push(l);
      if (process.env.TANDEM_TEST_DEBUG) process.stderr.write(`[failover] ${l}\n`);
    },
    log: testLog,
    ...o,
  };
}

export function failover(sites: Sites, o: Partial<FailoverOptions> & { to: string }, lines: string[] = []): Promise<FailoverResult> {
  return runFailover(failoverOptions(sites, o, lines));
}

/** HTTP against a site's job server with the admin token (created on the first site, replicated to the others). */
export async function api(site: TestSite, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const h: Record<string, string> = { authorization: `Bearer ${token}`, ...headers };
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const res = await fetch(site.url + path, { method, headers: h, body: payload });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text };
}

/**
 * Polls every site's /health/active concurrently, round after round, and
 * records each round in which two or more sites answered 200.
 */
export function watchActive(t: Teardown, sites: TestSite[]): { violations: string[]; rounds: () => number; stop: () => Promise<void> } {
  const violations: string[] = [];
  let rounds = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const answers = await Promise.all(
        sites.map(async (s) => {
          try {
            const r = await fetch(s.url + '/health/active', { signal: AbortSignal.timeout(2000) });
            await r.arrayBuffer();
            return r.status;
          } catch {
            return 0;
          }
        }),
      );
      rounds++;
      const active = sites.filter((_, i) => answers[i] === 200).map((s) => s.name);
      if (active.length > 1) violations.push(`${new Date().toISOString()}: ${active.join(' and ')} both answered 200`);
      // Deliberate pacing of an observation, not a wait: the watcher samples
      // every site's /health/active continuously (10 ms apart) until stopped,
      // and records any moment two sites answered 200.
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const stop = async () => {
    stopped = true;
    await loop;
  };
  t.teardown(stop);
  return { violations, rounds: () => rounds, stop };
}

export { waitFor } from '../harness/wait.js';

export async function count(site: TestSite, table: string): Promise<number> {
  const r = await site.q<{ n: number }>(`select count(*)::int as n from ${table}`);
  return r.rows[0]!.n;
}
