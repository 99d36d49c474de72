import type { Db } from '../../db/db.js';

/** The member left cleanly (after its drain): `stopped`, not `dead`; nothing to recover. */
export async function stopMember(db: Db, m: { name: string; generation: number }): Promise<void> {
  await db.query({
    name: 'tandem.cluster.stopMember',
    text: `update tandem_site.members set stopped_at = now(), running = 0
           where name = $1 and generation = $2 and lost_at is null`,
    values: [m.name, m.generation],
  });
}
