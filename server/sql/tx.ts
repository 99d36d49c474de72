/**
 * Run `fn` in one transaction on a pooled client: commit on success, roll
 * back on any error (so a failed request writes nothing), always release.
 */
import type pg from 'pg';

export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // A checked-out client has no pool listener: without this, the database going away mid-transaction
  // (a site failing over, a restart) would be an uncaught 'error' event; the pending query fails anyway.
  const onError = () => undefined;
  client.on('error', onError);
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (e) {
    await client.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    client.off('error', onError);
    client.release();
  }
}

/** True for PostgreSQL's unique_violation, optionally on one constraint/index. */
export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  const err = e as { code?: string; constraint?: string };
  return err?.code === '23505' && (constraint === undefined || err.constraint === constraint);
}
