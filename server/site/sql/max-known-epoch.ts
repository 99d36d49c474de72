import type { Db } from '../../db/db.js';

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
