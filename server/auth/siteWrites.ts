/**
 * Auth writes and the site's role. A passive (or fenced) site serves reads
 * with the replicated tokens and sessions, but must not write to the
 * replicated schema — its transactions are usually read-only and anything it
 * wrote would diverge from the active site. So: logins, logouts and token
 * changes refuse with `site_passive` (503, naming the active site), and the
 * bookkeeping writes of ordinary requests (token last use, session idle
 * expiry, the audit row of an ACL denial) are skipped there, and never fail
 * a request.
 */
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { assertWritable, mayWrite, siteRoleInfo } from '../site/guard.js';

type Queryable = Parameters<typeof siteRoleInfo>[0];

export async function assertAuthWritable(pool: pg.Pool): Promise<void> {
  await assertWritable(pool as unknown as Queryable);
}

/** Run a bookkeeping write when this site may write; log (never throw) when it cannot be done. */
export async function bookkeepingWrite(pool: pg.Pool, log: Logger, what: string, write: () => Promise<void>): Promise<void> {
  try {
    const info = await siteRoleInfo(pool as unknown as Queryable);
    if (!mayWrite(info.role, 'finish') || info.readOnly) return;
    await write();
  } catch (e) {
    log.warn(`could not record ${what}`, { err: errorMessage(e) });
  }
}
