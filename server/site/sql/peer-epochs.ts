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
