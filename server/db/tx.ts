/**
 * Run `fn` in one transaction on a pooled client: commit on success, roll
 * back on any error (so a failed request writes nothing), always release.
 */
import type pg from 'pg';
import { TandemError } from '../errors.js';
import { defaultLostConnectionRetry, retryLostConnection, type LostConnectionRetry } from './lost-connection.js';
import { StaleReadOnlySession } from '../site/guard.js';
import { isConnectionLost, isSessionEnded, SQLSTATE } from './sqlstate.js';

// The one classifier of lost connections (server/db/sqlstate.ts), also what callers of tx.ts import.
export { isConnectionLost, isSessionEnded };

/**
 * Run `fn` in a transaction. When the connection dies before `commit` was
 * sent, the server rolled the transaction back, so nothing of it happened and
 * the whole transaction is run again on a fresh connection, for as long as
 * lost-connection.ts allows. This is what happens when a role change ends
 * the job servers' idle sessions (terminateAppSessions): the session can be
 * handed out between the moment it is seen idle and the moment it is ended.
 * `fn` must therefore only touch the database (side effects belong after the
 * commit), which is true of every caller. A connection lost *during* commit leaves the outcome unknown:
 * that is not retried, and the error says so.
 */
export async function withTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, policy: LostConnectionRetry = defaultLostConnectionRetry): Promise<T> {
  try {
    return await retryLostConnection(
      () => transactionOnce(pool, fn),
      (e) => e instanceof DeadBeforeCommit && (isSessionEnded(e.cause) || e.cause instanceof StaleReadOnlySession),
      policy,
    );
  } catch (e) {
    throw e instanceof DeadBeforeCommit ? e.cause : e;
  }
}

class DeadBeforeCommit extends Error {
  constructor(override readonly cause: Error) {
    super(cause.message);
  }
}

async function transactionOnce<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (e) {
    // No session, so nothing ran: a new session ended while starting (a role change ending every
    // job-server session) or the database restarting is worth another try.
    throw isConnectionLost(e) ? new DeadBeforeCommit(e as Error) : e;
  }
  // A checked-out client has no pool listener: without this, the database going away mid-transaction
  // (a site failing over, a restart) would be an uncaught 'error' event; the pending query fails anyway.
  const onError = () => undefined;
  client.on('error', onError);
  // A client whose connection died is destroyed on release, never handed out again.
  let lost: Error | undefined;
  let committing = false;
  try {
    await client.query('begin');
    const result = await fn(client);
    committing = true;
    await client.query('commit');
    return result;
  } catch (e) {
    if (isConnectionLost(e)) {
      lost = e as Error;
      if (!committing) throw new DeadBeforeCommit(lost);
      throw new CommitOutcomeUnknown(lost);
    }
    if (e instanceof StaleReadOnlySession) {
      // The session kept a passive site's read-only default (opened while the role changed): nothing was
      // written; drop it (a new one gets the database's current default) and run the transaction again.
      await client.query('rollback').catch(() => undefined);
      lost = e;
      throw new DeadBeforeCommit(e);
    }
    await client.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}

/**
 * The connection died while `commit` was on its way: the transaction may or
 * may not have been applied. Surfaces as 500 `outcome_unknown` with that
 * said, never as 503: load balancers retry a 503 on another member because a
 * 503 from Tandem means nothing was done (deploy/README.md, Load balancer).
 */
export class CommitOutcomeUnknown extends TandemError {
  constructor(cause: Error) {
    super('outcome_unknown', `the database connection was lost while committing (${cause.message}); the change may or may not have been applied: check before repeating it`, { cause });
  }
}

/** True for PostgreSQL's unique_violation, optionally on one constraint/index. */
export function isUniqueViolation(e: unknown, constraint?: string): boolean {
  const err = e as { code?: string; constraint?: string };
  return err?.code === SQLSTATE.UNIQUE_VIOLATION && (constraint === undefined || err.constraint === constraint);
}
