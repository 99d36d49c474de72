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
