/**
 * The one place that decides whether this site may write. Every write path
 * (HTTP mutations, the scheduler's firing transaction, an execution's start)
 * calls `assertWritable(client)` on the same connection, inside the same
 * transaction as its writes, so that a site demoted to passive by a failover
 * stops writing at once and a write never slips between the check and the
 * commit.
 *
 * Until the sites issue adds `tandem_site.site` (one row: `role` = 'active'
 * or 'passive'), a database without that table is a single active site.
 */
import type pg from 'pg';
import { TandemError } from '../errors.js';

export type SiteRole = 'active' | 'passive';

type Queryable = Pick<pg.PoolClient, 'query'>;

export async function siteRole(client: Queryable): Promise<SiteRole> {
  const has = await client.query<{ present: boolean }>({
    name: 'tandem.siteTablePresent',
    text: `select to_regclass('tandem_site.site') is not null as present`,
  });
  if (!has.rows[0]?.present) return 'active';
  // `for share`: a concurrent failover that updates the role waits for this transaction (and vice versa).
  const r = await client.query<{ role: string }>({ name: 'tandem.siteRole', text: 'select role from tandem_site.site for share' });
  return r.rows[0]?.role === 'passive' ? 'passive' : 'active';
}

/** Throws `site_passive` (503) unless this site is the active one. */
export async function assertWritable(client: Queryable): Promise<void> {
  if ((await siteRole(client)) !== 'active') {
    throw new TandemError('site_passive', 'this site is passive (read-only); send writes to the active site');
  }
}
