/**
 * PostgreSQL error codes (SQLSTATE) Tandem acts on, by name; the one
 * classifier of lost connections (used by transactions, the retrying pool,
 * the HTTP error mapping and the replicator); and what an error on an idle
 * pooled connection means for the log.
 */
import type { Logger } from '../log.js';

export const SQLSTATE = Object.freeze({
  /** The session was terminated: pg_terminate_backend (a role change ending sessions, a failover), or a fast/smart shutdown. */
  ADMIN_SHUTDOWN: '57P01',
  /** The server crashed or was stopped with an immediate shutdown (another backend died: every session is ended). */
  CRASH_SHUTDOWN: '57P02',
  /** The server is starting or shutting down and takes no connection now. */
  CANNOT_CONNECT_NOW: '57P03',
  /** The session was idle longer than idle_session_timeout. */
  IDLE_SESSION_TIMEOUT: '57P05',
  /** Class 08: connection exceptions (the connection could not be made or was lost). */
  CONNECTION_EXCEPTION_CLASS: '08',
  /** A write in a read-only transaction: a passive site's sessions default to read-only, so every write there gets this. */
  READ_ONLY_SQL_TRANSACTION: '25006',
  /** A table that does not exist: e.g. tandem_site.site in a single-site database, or a database never migrated. */
  UNDEFINED_TABLE: '42P01',
  /** Permission denied (a role without the privilege; e.g. the replicator's user cannot set session_replication_role). */
  INSUFFICIENT_PRIVILEGE: '42501',
  /** An object that does not exist (e.g. the language plpgsql, dropped from a database). */
  UNDEFINED_OBJECT: '42704',
  /** A duplicate key. */
  UNIQUE_VIOLATION: '23505',
  /** The object is in use (e.g. a replication slot still held by a walsender). */
  OBJECT_IN_USE: '55006',
  /** Class 23: integrity constraint violations (duplicate key, foreign key, check, not null). */
  INTEGRITY_CONSTRAINT_CLASS: '23',
  /**
   * Class 40: transaction rollback (deadlock_detected 40P01, serialization_failure 40001): PostgreSQL
   * rolled the transaction back because of other sessions at that moment; running it again is the cure.
   */
  TRANSACTION_ROLLBACK_CLASS: '40',
  /** Class 22: data exceptions (a value the column refuses: too long, out of range, invalid input). */
  DATA_EXCEPTION_CLASS: '22',
  /**
   * Tandem's own (class TR is not PostgreSQL's): raised on the target by the replicator's row check
   * (replicator/apply/row-check.ts) when an update or delete found fewer rows than the change names.
   */
  ROW_COUNT_MISMATCH: 'TR001',
});

/** PostgreSQL rolled the transaction back because of a concurrent session (a deadlock, a serialization failure): run it again. */
export function isTransactionRollback(e: unknown): boolean {
  return sqlstateOf(e)?.startsWith(SQLSTATE.TRANSACTION_ROLLBACK_CLASS) ?? false;
}

/** The SQLSTATE of a PostgreSQL error (node-pg puts it in `code`), or undefined for anything else. */
export function sqlstateOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Socket errors (Node errno codes) of a connection to the database; any other errno is not a lost connection. */
const SOCKET_ENDED = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const SOCKET_UNREACHABLE = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** Messages (any case) of node-pg and of the replication connection (replicator/stream/connection.ts) for a session that ended. */
const ENDED_MESSAGE = /Connection terminated|Client has encountered a connection error|connection closed|ended the replication stream/i;

/**
 * Whether an error means the connection is gone rather than that the statement failed:
 * - `session_ended`: the session was ended under it (terminated by the server, e.g. a
 *   role change ending idle sessions; a shutdown; a reset socket). A fresh session gets
 *   through at once when the database is up;
 * - `unreachable`: the database refuses or cannot take connections (down, starting,
 *   shutting down, unreachable host);
 * - null: anything else (an error of the statement or of the data).
 */
export function connectionLoss(e: unknown): 'session_ended' | 'unreachable' | null {
  if (!e || typeof e !== 'object') return null;
  const { code, message } = e as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (code === SQLSTATE.ADMIN_SHUTDOWN || code === SQLSTATE.CRASH_SHUTDOWN || code === SQLSTATE.IDLE_SESSION_TIMEOUT || SOCKET_ENDED.has(code)) return 'session_ended';
    if (code === SQLSTATE.CANNOT_CONNECT_NOW || code.startsWith(SQLSTATE.CONNECTION_EXCEPTION_CLASS) || SOCKET_UNREACHABLE.has(code)) return 'unreachable';
  }
  return typeof message === 'string' && ENDED_MESSAGE.test(message) ? 'session_ended' : null;
}

/** The connection itself is gone (ended or unreachable), as opposed to an error of the statement. */
export function isConnectionLost(e: unknown): boolean {
  return connectionLoss(e) !== null;
}

/**
 * The session was ended under a statement, as opposed to the database being
 * unreachable. Only these are retried by the job server (server/db/lost-connection.ts):
 * bridging an outage would hide it from the site monitor, which must compare
 * epochs with the peers before this site acts as active again.
 */
export function isSessionEnded(e: unknown): boolean {
  return connectionLoss(e) === 'session_ended';
}

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
