/**
 * Auth writes and the site's role. A passive (or fenced) site serves reads
 * with the replicated tokens and sessions, but must not write to the
 * replicated schema — its transactions are usually read-only and anything it
 * wrote would diverge from the active site. So: token changes and the logout
 * of a replicated session refuse with `site_passive` (503, naming the active
 * site), and the bookkeeping writes of ordinary requests (token last use,
 * session idle expiry, the audit row of an ACL denial) are skipped there, and
 * never fail a request.
 *
 * A login there still works: its session is kept in this site's own table
 * (`loginPlace` says where a login's session goes) and can only read
 * (`siteSessionWriteError` is the answer to any change made with it).
 */
import type pg from 'pg';
import { errorMessage, isTandemError, TandemError } from '../errors.js';
import type { Logger } from '../log.js';
import { assertWritable, siteRoleInfo, sitePassiveError } from '../site/guard.js';
import { withTransaction } from '../db/tx.js';
import type { SessionPlace } from './sessions.js';

type Queryable = Parameters<typeof siteRoleInfo>[0];

export async function assertAuthWritable(pool: pg.Pool): Promise<void> {
  await assertWritable(pool as unknown as Queryable);
}

/**
 * Run a bookkeeping write when this site may write, skip it when the site
 * may not (passive, fenced), log (never throw) when it cannot be done. The
 * role check and the write share one transaction on one session (as every
 * write path does): a pooled session still read-only from before a promotion
 * fails the check with StaleReadOnlySession, and withTransaction runs both
 * again on a fresh session, so the write lands right after a promotion too.
 */
export async function bookkeepingWrite(pool: pg.Pool, log: Logger, what: string, write: (db: pg.PoolClient) => Promise<void>): Promise<void> {
  try {
    await withTransaction(pool, async (c) => {
      await assertWritable(c, 'finish');
      await write(c);
    });
  } catch (e) {
    if (isTandemError(e) && e.code === 'site_passive') return; // this site records no bookkeeping while it is not active
    log.warn(`could not record ${what}`, { err: errorMessage(e) });
  }
}

/** Where a login's session is written now: the replicated table on the active site, this site's own table otherwise. */
export async function loginPlace(pool: pg.Pool): Promise<SessionPlace> {
  const info = await siteRoleInfo(pool as unknown as Queryable);
  return info.role === 'active' ? { store: 'replicated' } : { store: 'site', siteRole: info.role };
}

/**
 * The answer to a change attempted with a site-local session: `site_passive`
 * (naming the active site) while this site is not active, as for every
 * write; once the site has been promoted, 401: the session was opened for
 * looking only (its login is not in the replicated audit trail), so the user
 * logs in again to make changes.
 */
export async function siteSessionWriteError(pool: pg.Pool): Promise<TandemError> {
  const info = await siteRoleInfo(pool as unknown as Queryable);
  if (info.role !== 'active') return sitePassiveError(info);
  return new TandemError('unauthorized', 'this session was opened while the site was not active and can only read: log in again at /login to make changes');
}

/** A write to this site's own tables (site-local sessions) that must never fail the request: logged when it cannot be done. */
export async function siteLocalBookkeeping(log: Logger, what: string, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (e) {
    log.warn(`could not record ${what}`, { err: errorMessage(e) });
  }
}
