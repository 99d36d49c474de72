import type { Db } from '../../db/db.js';
import type { SiteRole, SiteRow } from '../types.js';
import { SITE_COLUMNS, toSiteRow } from './get-site.js';

export interface SetSiteRole {
  role: SiteRole;
  /** New epoch (never lower: a trigger refuses it); omitted keeps the current one. */
  epoch?: number;
  activeSite: string | null;
  activeUrl: string | null;
  reason: string;
}

/**
 * Change the role. The update takes the row lock, so it waits for every
 * transaction that checked the role `for share` (guard.ts) to finish.
 */
export async function setSiteRole(db: Db, s: SetSiteRole): Promise<SiteRow> {
  const { rows } = await db.query({
    name: 'tandem_site.setSiteRole',
    text: `update tandem_site.site
              set role = $1, epoch = coalesce($2::bigint, epoch), active_site = $3, active_url = $4, reason = $5, updated_at = now()
           returning ${SITE_COLUMNS}`,
    values: [s.role, s.epoch ?? null, s.activeSite, s.activeUrl, s.reason],
  });
  if (!rows[0]) throw new Error('tandem_site.site has no row: run `tandem site init` first');
  return toSiteRow(rows[0]);
}
