import type { Db } from '../../db/db.js';

/**
 * Inside the recovering member's transaction: take ONE member incarnation
 * that has been silent for `deadAfterMs` (database clock) and is not yet
 * declared lost, lock its row `for update` (skipping rows another survivor
 * holds: exactly one survivor recovers a member) and declare it lost. From
 * the commit on, its writes to executions are refused (see fence.ts).
 */
export async function claimDeadMember(db: Db, by: string, deadAfterMs: number): Promise<{ name: string; generation: number } | null> {
  const { rows } = await db.query<{ name: string; generation: string }>({
    name: 'tandem.cluster.claimDeadMember',
    text: `with dead as (
             select name, generation from tandem_site.members m
             where m.lost_at is null and m.stopped_at is null and m.name <> $1
               and now() - m.heartbeat_at >= $2::int * interval '1 millisecond'
             order by m.heartbeat_at
             limit 1
             for update skip locked)
           update tandem_site.members m set lost_at = now(), lost_by = $1, running = 0
           from dead where m.name = dead.name and m.generation = dead.generation
           returning m.name, m.generation`,
    values: [by, deadAfterMs],
  });
  const r = rows[0];
  return r ? { name: r.name, generation: Number(r.generation) } : null;
}
