/**
 * startPostgres(t, { name }): a private PostgreSQL cluster for one test, on a
 * free loopback port with wal_level=logical; stopped and deleted in the
 * test's teardown even when the test fails. Several can run at once (one per
 * site).
 */
import pg from 'pg';
import { createEmbeddedPostgres, type EmbeddedPostgres } from '../../server/embedded/postgres.js';
import { serverDir, type Teardown } from './tmp.js';
import { reapProcess } from './reaper.js';

export interface TestPostgres extends EmbeddedPostgres {
  readonly name: string;
  /** Create a fresh database and return its URL. */
  createDatabase(name: string): Promise<string>;
  /** Run one query as superuser on database `postgres` (or `db`). */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[], db?: string): Promise<pg.QueryResult<R>>;
}

export interface StartPostgresOptions {
  name?: string;
  settings?: Record<string, string | number>;
  binDir?: string;
}

export async function startPostgres(t: Teardown, opts: StartPostgresOptions = {}): Promise<TestPostgres> {
  const name = opts.name ?? 'pg';
  const { dir, setStop } = await serverDir(t, `pg-${name}`);
  const lines: string[] = [];
  const server = await createEmbeddedPostgres({
    dir,
    settings: { wal_sender_timeout: "'60s'", ...opts.settings },
    binDir: opts.binDir,
    onLog: (l) => {
      lines.push(l);
      if (lines.length > 200) lines.shift();
      if (process.env.TANDEM_TEST_PG_LOG) process.stderr.write(`[pg ${name}] ${l}\n`);
    },
  });
  // Its own process group (postmaster and backends): killed whole if this test process dies before teardown.
  const forget = reapProcess(() => (server.running() ? server.pid() : undefined), true);
  setStop(async () => {
    await server.stop('fast');
    forget();
  });

  const query = async <R extends pg.QueryResultRow>(sql: string, params?: unknown[], db = 'postgres') => {
    const client = new pg.Client({ connectionString: server.urlFor(db) });
    await client.connect();
    try {
      return await client.query<R>(sql, params);
    } finally {
      await client.end();
    }
  };
  return Object.assign(Object.create(null), server, {
    name,
    url: server.url,
    port: server.port,
    dir: server.dir,
    dataDir: server.dataDir,
    binDir: server.binDir,
    major: server.major,
    query,
    async createDatabase(db: string) {
      await query(`CREATE DATABASE "${db.replace(/"/g, '""')}"`);
      return server.urlFor(db);
    },
  }) as TestPostgres;
}
