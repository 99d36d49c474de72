/**
 * PostgreSQL error codes (SQLSTATE) Tandem acts on, by name, and what an
 * error on an idle pooled connection means for the log.
 */
import type { Logger } from '../log.js';

export const SQLSTATE = Object.freeze({
  /** The session was terminated: pg_terminate_backend (a role change ending sessions, a failover), or a fast/smart shutdown. */
  ADMIN_SHUTDOWN: '57P01',
  /** The server crashed or was stopped with an immediate shutdown (another backend died: every session is ended). */
  CRASH_SHUTDOWN: '57P02',
  /** The server is starting or shutting down and takes no connection now. */
  CANNOT_CONNECT_NOW: '57P03',
});

/**
 * The listener for a pool's `error` event (an error on a connection that sat
 * idle in the pool; the pool drops it and opens a new one when needed).
 * A terminated session (57P01) is what every failover, rejoin and stop does
 * on purpose, so it is logged at info; anything else (a crash, a reset
 * socket) is a warning.
 */
export function logIdleConnectionError(log: Logger, what = 'idle database connection'): (e: Error) => void {
  return (e) => {
    if ((e as { code?: unknown }).code === SQLSTATE.ADMIN_SHUTDOWN) log.info(`${what} was ended by the database (terminated or shut down); a new one is opened when needed`, { error: e });
    else log.warn(`${what} failed`, { error: e });
  };
}
