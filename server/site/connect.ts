/**
 * Connections the site machinery makes to a site's database (its own, a
 * peer's, or both sides of a failover). Short connect timeouts: an
 * unreachable site must be reported quickly, not hang a failover or a
 * health check.
 *
 * A passive or fenced site's database defaults to read-only transactions for
 * the application (`ALTER DATABASE … SET default_transaction_read_only = on`).
 * The sessions that must still write there (the failover command, the site
 * monitor fencing itself, the replicator applying changes) connect with
 * `writableUrl(url)`, which turns the default off for that session only.
 */
import pg from 'pg';

export const READ_WRITE_OPTIONS = '-c default_transaction_read_only=off';

/** The same database URL with a session option that makes its transactions read-write by default. */
export function writableUrl(url: string): string {
  const u = new URL(url);
  u.searchParams.set('options', READ_WRITE_OPTIONS);
  return u.toString();
}

export interface SiteClientOptions {
  applicationName?: string;
  connectTimeoutMs?: number;
  /** Statement timeout of the session (0: none). */
  statementTimeoutMs?: number;
}

export async function connectSite(url: string, o: SiteClientOptions = {}): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: writableUrl(url),
    application_name: o.applicationName ?? 'tandem-site',
    connectionTimeoutMillis: o.connectTimeoutMs ?? 5000,
    statement_timeout: o.statementTimeoutMs || undefined,
  });
  // A dropped connection is reported by the next query; without a listener it would crash the process.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

export async function withSite<T>(url: string, fn: (c: pg.Client) => Promise<T>, o: SiteClientOptions = {}): Promise<T> {
  const c = await connectSite(url, o);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Run `fn` in one read-write transaction (also on a database whose default is read-only). */
export async function inReadWriteTransaction<T>(c: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await c.query('begin read write');
  try {
    const r = await fn();
    await c.query('commit');
    return r;
  } catch (e) {
    await c.query('rollback').catch(() => undefined);
    throw e;
  }
}

/** `inReadWriteTransaction` on a pooled connection (the job server's pool on a possibly read-only database). */
export async function poolReadWrite<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  // Checked out, the client has no pool listener; a dropped connection then fails the pending query.
  const onError = () => undefined;
  c.on('error', onError);
  try {
    return await inReadWriteTransaction(c, () => fn(c));
  } finally {
    c.off('error', onError);
    c.release();
  }
}
