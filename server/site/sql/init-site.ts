import type { Db } from '../../db/db.js';
import type { SiteRole, SiteRow } from '../types.js';
import { SITE_COLUMNS, toSiteRow } from './get-site.js';

/**
 * Create this database's site row. Returns the existing row unchanged when
 * there is one (the caller compares it with what was asked).
 */
export async function initSite(db: Db, s: { name: string; role: SiteRole; epoch: number; activeSite: string | null; activeUrl: string | null }): Promise<{ row: SiteRow; created: boolean }> {
  const ins = await db.query({
    name: 'tandem_site.initSite',
    text: `insert into tandem_site.site (name, role, epoch, active_site, active_url, reason)
           values ($1, $2, $3, $4, $5, 'tandem site init') on conflict (singleton) do nothing
           returning ${SITE_COLUMNS}`,
    values: [s.name, s.role, s.epoch, s.activeSite, s.activeUrl],
  });
  if (ins.rows[0]) return { row: toSiteRow(ins.rows[0]), created: true };
  const cur = await db.query({ name: 'tandem_site.getSite', text: `select ${SITE_COLUMNS} from tandem_site.site` });
  return { row: toSiteRow(cur.rows[0]), created: false };
}
