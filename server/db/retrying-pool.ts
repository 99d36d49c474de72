/**
 * The job server's pool answers `pool.query` again on a fresh connection when
 * the pooled one turns out to be dead. A failover ends idle application
 * sessions on purpose (so that new ones pick up the site's read-only
 * default), and the pool only learns a session is gone when it next uses it:
 * without this, the first request after a role change would fail with
 * "terminating connection due to administrator command". A single
 * `pool.query` is its own transaction, and a terminated session ran none of
 * it, so asking again is safe (lost-connection.ts says how long and how
 * often). Transactions retry the same way in tx.ts.
 */
import type pg from 'pg';
import { isSessionEnded } from './tx.js';
import { defaultLostConnectionRetry, retryLostConnection, type LostConnectionRetry } from './lost-connection.js';

export function retryDeadConnections(pool: pg.Pool, policy: LostConnectionRetry = defaultLostConnectionRetry): pg.Pool {
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  const retrying = async (...args: unknown[]) => {
    if (typeof args[args.length - 1] === 'function') return query(...args); // callback form: untouched
    return retryLostConnection(() => query(...args), isSessionEnded, policy);
  };
  pool.query = retrying as typeof pool.query;
  return pool;
}
