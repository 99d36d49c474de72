import type { Db } from '../../db/db.js';

/** Remove site-local sessions past their absolute expiry or idle for longer than the timeout (as deleteExpiredSessions). */
export async function deleteExpiredLocalSessions(db: Db, idleTimeoutMs: number): Promise<number> {
  const { rowCount } = await db.query({
    name: 'tandem_site.auth.deleteExpiredLocalSessions',
    text: `delete from tandem_site.local_sessions
           where expires_at <= now() or last_seen_at <= now() - $1::bigint * interval '1 millisecond'`,
    values: [idleTimeoutMs],
  });
  return rowCount ?? 0;
}
