/**
 * The one place that decides whether this site may write. Every write path
 * (HTTP mutations, the scheduler's firing transaction, an execution's start)
 * calls `assertWritable(client)` on the same connection, inside the same
 * transaction as its writes, so that a site demoted by a failover stops
 * writing at once and a write never slips between the check and the commit:
 * the role row is read `for share`, so the failover's update of the role
 * waits for every transaction that has checked it (and vice versa).
 *
 * Roles (roles.ts, sql/040_sites.sql): `active` writes; `draining` (a planned
 * switchover has begun) lets running executions finish and be recorded but
 * starts nothing new; `passive` and `fenced` write nothing. A database
 * without `tandem_site.site` (or without its row) is a single active site.
 */
import type pg from 'pg';
import { TandemError } from '../errors.js';
import { knownRole, type SiteRole } from './roles.js';

/**
 * What a write is for. `start` (the default): anything new (a firing, an
 * execution start, an API mutation). `finish`: recording the end of work
 * already running (allowed while draining, so a drain loses nothing).
 */
export type WriteKind = 'start' | 'finish';

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface SiteRoleInfo {
  role: SiteRole;
  /** URL of the active site as this site last learned it (null when unknown or this one). */
  activeUrl: string | null;
  /** Whether the current transaction is read-only. */
  readOnly: boolean;
}

export async function siteRoleInfo(client: Queryable): Promise<SiteRoleInfo> {
  const r = await client.query<{ present: boolean; read_only: boolean }>({
    name: 'tandem.siteTablePresent',
    text: `select to_regclass('tandem_site.site') is not null as present, current_setting('transaction_read_only') = 'on' as read_only`,
  });
  const readOnly = !!r.rows[0]?.read_only;
  if (!r.rows[0]?.present) return { role: 'active', activeUrl: null, readOnly };
  // `for share`: a concurrent failover that updates the role waits for this
  // transaction. A read-only transaction (a passive site's default) may not
  // lock rows, and cannot write anyway, so it reads without the lock.
  const row = await client.query<{ role: string; active_url: string | null }>(
    readOnly
      ? { name: 'tandem.siteRoleNoLock', text: 'select role, active_url from tandem_site.site' }
      : { name: 'tandem.siteRole', text: 'select role, active_url from tandem_site.site for share' },
  );
  const found = row.rows[0];
  if (!found) return { role: 'active', activeUrl: null, readOnly };
  return { role: knownRole(found.role), activeUrl: found.active_url, readOnly };
}

export async function siteRole(client: Queryable): Promise<SiteRole> {
  return (await siteRoleInfo(client)).role;
}

/** True when a write of this kind may happen on this site now. */
export function mayWrite(role: SiteRole, kind: WriteKind = 'start'): boolean {
  return role === 'active' || (role === 'draining' && kind === 'finish');
}

/** Whether this site may write now (same checks as assertWritable, without throwing). */
export async function canWrite(client: Queryable, kind: WriteKind = 'start'): Promise<boolean> {
  return mayWrite(await siteRole(client), kind);
}

/** Throws `site_passive` (503, naming the active site when known) unless this site may write. */
export async function assertWritable(client: Queryable, kind: WriteKind = 'start'): Promise<void> {
  const info = await siteRoleInfo(client);
  if (!mayWrite(info.role, kind)) throw sitePassiveError(info);
  if (info.readOnly) {
    // A session opened while this site was passive, before the site monitor aligned it: retryable
    // (withTransaction drops such a session and runs the transaction again on a fresh one).
    throw new StaleReadOnlySession();
  }
}

/** This site may write, but the session still has the read-only default of a passive site. */
export class StaleReadOnlySession extends TandemError {
  constructor() {
    super('unavailable', 'this site has just been promoted; retry the request', { details: { retryable: true } });
  }
}

export function sitePassiveError(info: SiteRoleInfo): TandemError {
  const where = info.activeUrl ? `; send writes to the active site ${info.activeUrl}` : '; send writes to the active site';
  const what = info.role === 'draining' ? 'this site is draining for a switchover and starts nothing new' : `this site is ${info.role} (read-only)`;
  return new TandemError('site_passive', what + where, { details: { activeSite: info.activeUrl, role: info.role } });
}
