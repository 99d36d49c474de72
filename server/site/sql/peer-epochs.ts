import type { Db } from '../../db/db.js';

/** Remember the epoch (and role) seen at a peer; an epoch seen never goes down here. */
export async function recordPeerEpoch(db: Db, site: string, epoch: number, role: string | null): Promise<void> {
  await db.query({
    name: 'tandem_site.recordPeerEpoch',
    text: `insert into tandem_site.peer_epochs (site, epoch, role) values ($1, $2, $3)
           on conflict (site) do update set epoch = greatest(peer_epochs.epoch, excluded.epoch), role = excluded.role, seen_at = now()`,
    values: [site, epoch, role],
  });
}

/**
 * The highest epoch this database knows of: its own, any seen at a peer,
 * and any promotion replicated to it (tandem.site_events).
 */
export async function maxKnownEpoch(db: Db): Promise<number> {
  const { rows } = await db.query<{ epoch: string }>({
    name: 'tandem_site.maxKnownEpoch',
    text: `select greatest(
             coalesce((select max(epoch) from tandem_site.site), 0),
             coalesce((select max(epoch) from tandem_site.peer_epochs), 0),
             coalesce((select max(epoch) from tandem.site_events), 0))::text as epoch`,
  });
  return Number(rows[0]!.epoch);
}

/**
 * Role recorded for a peer that a forced failover declared lost (it was
 * unreachable when the operator promoted this site past it). A site monitor
 * does not wait to reach such a peer before claiming active after its
 * database restarted; the mark goes as soon as the peer is seen again
 * (recordPeerEpoch overwrites the role).
 */
export const PRESUMED_LOST = 'presumed_lost';

/** Record `site` as presumed lost, keeping the epoch last seen there (0 if it was never seen). */
export async function markPeerPresumedLost(db: Db, site: string): Promise<void> {
  await db.query({
    name: 'tandem_site.markPeerPresumedLost',
    text: `insert into tandem_site.peer_epochs (site, epoch, role) values ($1, 0, '${PRESUMED_LOST}')
           on conflict (site) do update set role = excluded.role`,
    values: [site],
  });
}

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
