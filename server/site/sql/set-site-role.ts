import { TandemError } from '../../errors.js';
import type { Db } from '../../db/db.js';
import { siteRoles } from '../roles.js';
import type { SiteRole, SiteRow } from '../types.js';
import { SITE_COLUMNS, toSiteRow } from './get-site.js';

export interface SetSiteRole {
  role: SiteRole;
  /** New epoch (never lower: a trigger refuses it); omitted keeps the current one. */
  epoch?: number;
  activeSite: string | null;
  activeUrl: string | null;
  reason: string;
  /**
   * The role(s) the caller saw and decided on: the update happens only while
   * the role is still one of them (narrows the table's from-roles). Absent:
   * any role the table allows.
   */
  from?: readonly SiteRole[];
}

/**
 * Change the role: the one function that does, and only along the transition
 * table of ../roles.ts. The update checks the current role in the same
 * statement (`where role = any(<roles from which the new one may be
 * entered>)`), so a concurrent change cannot slip between check and write; a
 * refused change answers `illegal_transition` naming the role it found.
 * The update takes the row lock, so it waits for every transaction that
 * checked the role `for share` (guard.ts).
 */
export async function setSiteRole(db: Db, s: SetSiteRole): Promise<SiteRow> {
  const { rows } = await db.query({
    name: 'tandem_site.setSiteRole',
    text: `update tandem_site.site
              set role = $1, epoch = coalesce($2::bigint, epoch), active_site = $3, active_url = $4, reason = $5, updated_at = now()
            where role = any($6::text[])
           returning ${SITE_COLUMNS}`,
    values: [s.role, s.epoch ?? null, s.activeSite, s.activeUrl, s.reason, siteRoles.sourcesOf(s.role).filter((r) => !s.from || s.from.includes(r))],
  });
  if (rows[0]) return toSiteRow(rows[0]);
  const cur = await db.query<{ role: string }>({ name: 'tandem_site.getSiteRoleOnly', text: 'select role from tandem_site.site' });
  if (!cur.rows[0]) throw new Error('tandem_site.site has no row: run `tandem site init` first');
  const found = cur.rows[0].role;
  if (siteRoles.allows(found as SiteRole, s.role)) {
    throw new TandemError('conflict', `the site role changed to ${found} meanwhile (expected ${s.from!.join(' or ')}); look again (\`tandem status\`)`, {
      details: { from: found, to: s.role },
    });
  }
  throw siteRoles.illegal(found, s.role);
}
