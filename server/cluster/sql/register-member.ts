import type { Db } from '../../db/db.js';

export interface MemberRegistration {
  name: string;
  url: string;
  version: string;
  pid: number;
  tags: string[];
  scheduler: boolean;
  capacity: number;
}

/**
 * A member incarnation joins: its row is created, or taken over with the next
 * generation (a restart under the same name). The execution mode a member was
 * given (`tandem members disable`) survives its restarts; everything else is
 * this incarnation's.
 */
export async function registerMember(db: Db, m: MemberRegistration): Promise<{ generation: number }> {
  const { rows } = await db.query<{ generation: string }>({
    name: 'tandem.cluster.registerMember',
    text: `insert into tandem_site.members as m (name, generation, url, version, pid, tags, scheduler, capacity)
           values ($1, 1, $2, $3, $4, $5, $6, $7)
           on conflict (name) do update set generation = m.generation + 1, url = excluded.url, version = excluded.version,
             pid = excluded.pid, tags = excluded.tags, scheduler = excluded.scheduler, capacity = excluded.capacity,
             started_at = now(), heartbeat_at = now(), running = 0, stopped_at = null, lost_at = null, lost_by = null
           returning generation`,
    values: [m.name, m.url, m.version, m.pid, m.tags, m.scheduler, m.capacity],
  });
  return { generation: Number(rows[0]!.generation) };
}
