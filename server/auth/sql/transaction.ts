import type pg from 'pg';
import type { Logger } from '../../log.js';
import { withTransaction as inTransaction } from '../../db/tx.js';

/**
 * Run `fn` in one transaction on one pooled connection: all its writes commit
 * together (one WAL flush) or not at all. Same helper as the job server's
 * (server/db/tx.ts): dead connections are destroyed, and a connection found
 * dead at `begin` is replaced.
 */
export async function withTransaction<T>(pool: pg.Pool, _log: Logger, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, fn);
}

/**
 * A transaction that writes this site's own session table
 * (`tandem_site.local_sessions`) on a site that is not active. Such a site's
 * database defaults to read-only transactions for the application (fencing in
 * depth, server/site/connect.ts); this one transaction is explicitly made
 * read-write, as the replicator's and the failover command's sessions are.
 * Only for the few statements in ./*LocalSession*.ts: the replicated schema
 * must never be written through it (the guard, server/site/guard.ts, is what
 * refuses those writes; nothing here calls it).
 */
export async function withSiteLocalWrite<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, async (c) => {
    // Must be the transaction's first statement (before any query takes a snapshot).
    await c.query('set transaction read write');
    return fn(c);
  });
}
