import type { Db } from '../../db/db.js';

/**
 * At start-up: executions this member left queued or running when it
 * stopped cannot still be running (their processes died with it), so close
 * them as failed with a reason. Returns their ids and log keys.
 */
export async function closeLeftoverExecutions(db: Db, member: string, reason: string): Promise<{ id: string; logKey: string | null }[]> {
  const { rows } = await db.query<{ id: string; logKey: string | null }>({
    name: 'tandem.closeLeftoverExecutions',
    text: `with closed as (
             update tandem.executions set status = 'failed', status_reason = $2, ended_at = now()
             where member = $1 and status in ('queued', 'running')
             returning id)
           select c.id, l.key as "logKey" from closed c left join tandem.log_objects l on l.execution_id = c.id`,
    values: [member, reason],
  });
  return rows;
}
