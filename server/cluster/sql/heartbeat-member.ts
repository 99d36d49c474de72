import type { Db } from '../../db/db.js';
import type { ExecutionMode } from '../states.js';

/**
 * One heartbeat: the database's now() as this incarnation's last sign of
 * life, with its running count. No row comes back when the generation is no
 * longer current or was declared lost: this incarnation is fenced. Also
 * returns the member's and the site's execution mode (changed by any member
 * through the API or the CLI) so that one statement a second does it all.
 */
export async function heartbeatMember(
  db: Db,
  m: { name: string; generation: number; running: number; scheduler: boolean },
): Promise<{ memberMode: ExecutionMode; siteMode: ExecutionMode } | null> {
  const { rows } = await db.query<{ memberMode: ExecutionMode; siteMode: ExecutionMode }>({
    name: 'tandem.cluster.heartbeatMember',
    text: `update tandem_site.members m set heartbeat_at = now(), running = $3, scheduler = $4
           where m.name = $1 and m.generation = $2 and m.lost_at is null and m.stopped_at is null
           returning m.execution_mode as "memberMode",
             coalesce((select execution_mode from tandem_site.cluster), 'active') as "siteMode"`,
    values: [m.name, m.generation, m.running, m.scheduler],
  });
  return rows[0] ?? null;
}
