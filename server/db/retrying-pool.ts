/**
 * The job server's pool answers `pool.query` again on a fresh connection when
 * the pooled one turns out to be dead. A failover ends idle application
 * sessions on purpose (so that new ones pick up the site's read-only
 * default), and the pool only learns a session is gone when it next uses it:
 * without this, the first request after a role change would fail with
 * "terminating connection due to administrator command".
 *
 * Running a statement again is only safe when running it twice does no harm,
 * and a lost connection does not say whether the statement ran: a session
 * can be ended (or its socket reset) after an autocommit INSERT committed and
 * before its answer arrived, and asking again would insert twice. So:
 *
 * - a read-only statement (isReadOnlyStatement) is asked again as it is;
 * - any other statement runs as a one-statement transaction through
 *   withTransaction (tx.ts): a session found dead at `begin` or during the
 *   statement committed nothing and the transaction runs again on a fresh
 *   one; a connection lost while `commit` was on its way answers
 *   `outcome_unknown` (500), never a silent second run.
 *
 * Writes through `pool.query` thus cost two more round trips (begin, commit);
 * callers with several statements use withTransaction themselves anyway.
 * lost-connection.ts says how long and how often a retry goes on.
 */
import type pg from 'pg';
import { isSessionEnded, withTransaction } from './tx.js';
import { defaultLostConnectionRetry, retryLostConnection, type LostConnectionRetry } from './lost-connection.js';

/**
 * True for SQL that reads only: a `select`, `values`, `show` or `with ...
 * select` naming no data-modifying command (`insert`, `update` — also of
 * `for update` —, `delete`, `merge`, `copy`, `nextval`, `setval`, `lock`).
 * Anything it does not recognise counts as a write (the safe side: a write
 * is run in a transaction, which a read does not need but does not mind).
 * Functions called by a select (`pg_terminate_backend`, `set_config`) are
 * taken as harmless to repeat: the job server calls none that is not.
 */
export function isReadOnlyStatement(text: string): boolean {
  const sql = text.replace(/--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'/g, ' ');
  if (!/^\s*(select|values|show|with|table)\b/i.test(sql)) return false;
  return !/\b(insert|update|delete|merge|copy|nextval|setval|lock|truncate|create|alter|drop|grant|revoke|call|do)\b/i.test(sql);
}

function statementText(args: unknown[]): string | undefined {
  const first = args[0];
  if (typeof first === 'string') return first;
  if (first && typeof first === 'object' && typeof (first as { text?: unknown }).text === 'string') return (first as { text: string }).text;
  return undefined;
}

export function retryDeadConnections(pool: pg.Pool, policy: LostConnectionRetry = defaultLostConnectionRetry): pg.Pool {
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  const retrying = async (...args: unknown[]) => {
    if (typeof args[args.length - 1] === 'function') return query(...args); // callback form: untouched
    const text = statementText(args);
    if (text !== undefined && isReadOnlyStatement(text)) return retryLostConnection(() => query(...args), isSessionEnded, policy);
    // A write (or a query object this cannot read): once, or again only when it surely did not commit.
    return withTransaction(pool, (c) => (c.query as (...a: unknown[]) => Promise<unknown>)(...args), policy);
  };
  pool.query = retrying as typeof pool.query;
  return pool;
}
