import type { Db } from '../../db/db.js';
import { PRESUMED_LOST } from './mark-peer-presumed-lost.js';

/**
 * The peers this database has seen before, but not since its PostgreSQL last
 * started (and not presumed lost): while this database was down, one of them
 * may have been promoted by a forced failover, so an active site must compare
 * epochs with each of them before it claims to be active again.
 * (server/site/monitor.ts, "when the peers cannot be reached").
 */
export async function peersUnseenSinceRestart(db: Db): Promise<Set<string>> {
  const { rows } = await db.query<{ site: string }>({
    name: 'tandem_site.peersUnseenSinceRestart',
    text: `select site from tandem_site.peer_epochs
            where seen_at < pg_postmaster_start_time() and role is distinct from '${PRESUMED_LOST}'`,
  });
  return new Set(rows.map((r) => r.site));
}
