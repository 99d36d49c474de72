import type pg from 'pg';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';

/** Run `fn` in one transaction on one pooled connection: all its writes commit together (one WAL flush) or not at all. */
export async function withTransaction<T>(pool: pg.Pool, log: Logger, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (e) {
    await client.query('rollback').catch((err: unknown) => {
      broken = true; // a connection that cannot roll back is not given back to the pool
      log.warn('rollback failed', { err: errorMessage(err) });
    });
    throw e;
  } finally {
    client.release(broken);
  }
}
