import type { Db } from '../../db/db.js';
import type { InsertSessionRow } from './insert-session.js';

/**
 * A session of a site that is not active (sql/045_local_sessions.sql). Must
 * run in a read-write transaction: such a site's database defaults to
 * read-only ones (see transaction.ts, withSiteLocalWrite).
 */
export async function insertLocalSession(db: Db, row: InsertSessionRow & { siteRole: 'draining' | 'passive' | 'fenced' }): Promise<void> {
  await db.query({
    name: 'tandem_site.auth.insertLocalSession',
    text: `insert into tandem_site.local_sessions (id_hash, username, roles, groups, csrf_token, client_addr, site_role, expires_at)
           values ($1, $2, $3::text[], $4::text[], $5, $6, $7, now() + $8::bigint * interval '1 millisecond')`,
    values: [row.idHash, row.username, row.roles, row.groups, row.csrfToken, row.clientAddr, row.siteRole, row.absoluteTimeoutMs],
  });
}
