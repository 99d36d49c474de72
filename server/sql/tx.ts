/**
 * Run `fn` in one transaction on a pooled client: commit on success, roll
 * back on any error (so a failed request writes nothing), always release.
 */
import type pg from 'pg';

/**
 * Errors that mean the connection itself is gone (the server terminated the
 * session, e.g. a role change ending idle sessions, a restart, a failover),
 * as opposed to an error of the statement.
 */
export function isConnectionLost(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (!err) return false;
  if (err.code && ['57P01', '57P02', '57P03', 'ECONNRESET', 'EPIPE', 'ECONNREFUSED'].includes(err.code)) return true;
  if (err.code && err.code.startsWith('08')) return true;
  return /Connection terminated|Client has encountered a connection error/.test(err.message ?? '');
}

/**
 * Run `fn` in a transaction. When the pooled connection turns out to be dead
 * at `begin` (nothing has run yet, so trying again is safe), the transaction
 * is retried on a fresh connection, up to three times.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transactionOnce(pool, fn);
    } catch (e) {
      if (e instanceof DeadAtBegin) {
        if (attempt < 3) continue;
        throw e.cause;
      }
      throw e;
    }
  }
}

class DeadAtBegin extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

async function transactionOnce<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client has no pool listener: without this, the database going away mid-transaction
  // (a site failing over, a restart) would be an uncaught 'error' event; the pending query fails anyway.
  const onError = () => undefined;
  client.on('error', onError);
  // A client whose connection died is destroyed on release, never handed out again.
  let lost: Error | undefined;
  try {
    try {
      await client.query('begin');
    } catch (e) {
      if (isConnectionLost(e)) {
        lost = e as Error;
        throw new DeadAtBegin(lost);
      }
      throw e;
    }
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (e) {
    if (e instanceof DeadAtBegin) throw e;
    if (isConnectionLost(e)) lost ??= e as Error;
    // The rollback's own failure (a dead connection) changes nothing: the server rolled back already.
    await client.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}

/** True for PostgreSQL's unique_violation, optionally on one constraint/index. */
export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  const err = e as { code?: string; constraint?: string };
  return err?.code === '23505' && (constraint === undefined || err.constraint === constraint);
}
