/**
 * What a failed replication session leads to, and the wait before the next
 * one. A lost connection (either database restarted, the network failed) is
 * retried with a growing delay; an operator's mistake stops the replicator
 * quietly; anything else (an apply error, a lost slot, a set-up error) stops
 * it with the error recorded for `tandem replication status`.
 */
import { isTandemError, errorMessage } from '../server/errors.js';
import { isConnectionLost, isTransactionRollback } from '../server/db/sqlstate.js';
import type { ReplicationErrorInfo } from './bookkeeping/set-state.js';
import { slotLost } from './setup/start-position.js';

const SLOT_LOST_MESSAGE = /replication slot ".*" does not exist|can no longer get changes|has been invalidated|cannot read from logical replication slot|requested WAL segment .* has already been removed/i;

export type SessionFailure =
  /** An operator's mistake (a --skip-transaction LSN that names no transaction to apply): stop, record no error. */
  | { kind: 'invalid_option'; error: unknown }
  /** Stop and record the error on the target. */
  | { kind: 'fatal'; error: unknown; details: ReplicationErrorInfo }
  /** A connection was lost: reconnect. */
  | { kind: 'reconnect'; error: unknown }
  /**
   * PostgreSQL rolled a transaction of the session back because of another session (a deadlock, a
   * serialization failure; e.g. the initial copy's snapshot holding a table a source TRUNCATE of two
   * tables waits for, seen in the soak test): nothing of it was kept or acknowledged; run the session again.
   */
  | { kind: 'retry'; error: unknown };

export function sessionFailure(e: unknown, slot: string): SessionFailure {
  let err = e;
  if (!isTandemError(err) && SLOT_LOST_MESSAGE.test(errorMessage(err))) err = slotLost(slot, `cannot be used (${errorMessage(err)})`);
  if (isTandemError(err) && err.code === 'invalid_option') return { kind: 'invalid_option', error: err };
  if (!isTandemError(err) && isTransactionRollback(err)) return { kind: 'retry', error: err };
  // The one classifier of lost connections (server/db/sqlstate.ts): anything else a session met stops the replicator.
  if (isTandemError(err) || !isConnectionLost(err)) {
    const details = (isTandemError(err) ? (err.details?.replication as ReplicationErrorInfo | undefined) : undefined) ?? {
      message: errorMessage(err),
      code: isTandemError(err) ? err.code : (err as { code?: string }).code,
      at: new Date().toISOString(),
    };
    return { kind: 'fatal', error: err, details };
  }
  return { kind: 'reconnect', error: err };
}

/** Reconnect delays: double up to 30 s while reconnecting fails, back to the first after a session streamed. */
export class Backoff {
  private delay: number;

  constructor(private readonly first: number) {
    this.delay = first;
  }

  /** The wait before the next session; `streamed`: the failed session got as far as streaming. */
  next(streamed: boolean): number {
    // A session that streamed was a success: this is a new outage, not the next failure of the same one.
    if (streamed) this.delay = this.first;
    const d = this.delay;
    this.delay = Math.min(this.delay * 2, 30_000);
    return d;
  }
}

/** Resolve after `ms`, or at once when `signal` aborts. */
export function abortable(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
