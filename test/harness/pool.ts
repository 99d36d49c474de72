/**
 * A pg.Pool for a test's own queries, ended by the test's teardown. Its idle
 * sessions can be ended by the server while the test runs or tears down (a
 * failover ending sessions, a cluster being stopped or restarted): a pool
 * drops such a session and emits 'error', which without a listener is an
 * uncaught exception that fails a test whose assertions all passed. The
 * listener says what happened on stderr instead.
 */
import pg from 'pg';
import type { Teardown } from './tmp.js';

export function testPool(t: Teardown, config: pg.PoolConfig): pg.Pool {
  const pool = new pg.Pool(config);
  pool.on('error', (e) => process.stderr.write(`test pool: an idle session was ended by the server: ${e.message}\n`));
  t.teardown(() => pool.end());
  return pool;
}
