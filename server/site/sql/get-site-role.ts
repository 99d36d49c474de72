import type { Db } from '../../db/db.js';
import type { SiteRole } from '../types.js';
import { SQLSTATE, sqlstateOf } from '../../db/sqlstate.js';

export interface SiteRoleRow {
  name: string;
  role: SiteRole;
  activeUrl: string | null;
}

/**
 * This database's site name, role and active site URL in ONE round trip (it
 * runs on every request the load balancer forwards, see ../balancer.ts);
 * null when the site was never initialised or migrations are missing
 * (undefined table), which a job server treats as a single active site, as
 * getSite does.
 */
export async function getSiteRole(db: Db): Promise<SiteRoleRow | null> {
  try {
    const { rows } = await db.query<{ name: string; role: SiteRole; active_url: string | null }>({
      name: 'tandem_site.getSiteRole',
      text: 'select name, role, active_url from tandem_site.site',
    });
    const r = rows[0];
    return r ? { name: r.name, role: r.role, activeUrl: r.active_url } : null;
  } catch (e) {
    if (sqlstateOf(e) === SQLSTATE.UNDEFINED_TABLE) return null;
    throw e;
  }
}
