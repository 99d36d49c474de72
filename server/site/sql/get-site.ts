import type { Db } from '../../db/db.js';
import type { SiteRole, SiteRow } from '../types.js';

interface Row {
  name: string;
  role: SiteRole;
  epoch: string;
  active_site: string | null;
  active_url: string | null;
  reason: string | null;
  updated_at: Date;
}

export function toSiteRow(r: Row): SiteRow {
  return { name: r.name, role: r.role, epoch: Number(r.epoch), activeSite: r.active_site, activeUrl: r.active_url, reason: r.reason, updatedAt: r.updated_at };
}

export const SITE_COLUMNS = 'name, role, epoch::text as epoch, active_site, active_url, reason, updated_at';

/** This database's site row; null when the site was never initialised (or migrations are missing). */
export async function getSite(db: Db): Promise<SiteRow | null> {
  const has = await db.query<{ present: boolean }>({ name: 'tandem_site.siteTablePresent', text: `select to_regclass('tandem_site.site') is not null as present` });
  if (!has.rows[0]?.present) return null;
  const { rows } = await db.query<Row>({ name: 'tandem_site.getSite', text: `select ${SITE_COLUMNS} from tandem_site.site` });
  return rows[0] ? toSiteRow(rows[0]) : null;
}
