import type { Db } from '../../db/db.js';

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
