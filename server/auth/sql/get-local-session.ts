import type { Db } from '../../db/db.js';
import { toSessionRecord, type SessionDbRow, type SessionRecord } from './get-session.js';

/** A live session of this site's own table (opened while the site was not active); same expiry rules as getLiveSession. */
export async function getLiveLocalSession(db: Db, idHash: string, idleTimeoutMs: number): Promise<SessionRecord | undefined> {
  const { rows } = await db.query<SessionDbRow>({
    name: 'tandem_site.auth.getLiveLocalSession',
    text: `select id_hash, username, roles, groups, csrf_token, created_at, last_seen_at, expires_at
           from tandem_site.local_sessions
           where id_hash = $1 and expires_at > now()
             and last_seen_at > now() - $2::bigint * interval '1 millisecond'`,
    values: [idHash, idleTimeoutMs],
  });
  return rows[0] ? toSessionRecord(rows[0], 'site') : undefined;
}
