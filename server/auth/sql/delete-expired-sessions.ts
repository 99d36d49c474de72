import type { Db } from '../../db/db.js';

/** Remove sessions past their absolute expiry or idle for longer than the timeout. */
export async function deleteExpiredSessions(db: Db, idleTimeoutMs: number): Promise<number> {
  const { rowCount } = await db.query({
    name: 'tandem.auth.deleteExpiredSessions',
    text: `delete from tandem.sessions
           where expires_at <= now() or last_seen_at <= now() - $1::bigint * interval '1 millisecond'`,
    values: [idleTimeoutMs],
  });
  return rowCount ?? 0;
}
