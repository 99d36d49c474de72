import type { Db } from '../../db/db.js';

/** Push a site-local session's idle expiry forward, at most once per `granularityMs` (as touchSession). */
export async function touchLocalSession(db: Db, idHash: string, granularityMs: number): Promise<void> {
  await db.query({
    name: 'tandem_site.auth.touchLocalSession',
    text: `update tandem_site.local_sessions set last_seen_at = now()
           where id_hash = $1 and last_seen_at < now() - $2::bigint * interval '1 millisecond'`,
    values: [idHash, granularityMs],
  });
}
