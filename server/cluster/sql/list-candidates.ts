import type { Db } from '../../db/db.js';
import type { Candidate } from '../policy.js';

/**
 * Members that may be given a new execution now: heartbeat younger than
 * `inactiveAfterMs` (database clock), not lost or stopped, execution mode
 * active, on a site whose execution mode is active; with the executions
 * recorded running (or handed) to each, for the load policy.
 */
export async function listCandidates(db: Db, inactiveAfterMs: number): Promise<Candidate[]> {
  const { rows } = await db.query<Candidate>({
    name: 'tandem.cluster.listCandidates',
    text: `select m.name, m.tags, m.capacity,
             (select count(*)::int from tandem.executions e where e.member = m.name and e.status in ('queued', 'running')) as running
           from tandem_site.members m
           where m.lost_at is null and m.stopped_at is null and m.execution_mode = 'active'
             and now() - m.heartbeat_at < $1::int * interval '1 millisecond'
             and coalesce((select execution_mode from tandem_site.cluster), 'active') = 'active'`,
    values: [inactiveAfterMs],
  });
  return rows;
}
