import type pg from 'pg';
import type { Logger } from '../../log.js';
import { withTransaction as inTransaction } from '../../sql/tx.js';

/**
 * Run `fn` in one transaction on one pooled connection: all its writes commit
 * together (one WAL flush) or not at all. Same helper as the job server's
 * (server/sql/tx.ts): dead connections are destroyed, and a connection found
 * dead at `begin` is replaced.
 */
export async function withTransaction<T>(pool: pg.Pool, _log: Logger, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, fn);
}
