import type { Db } from '../../db/db.js';

/**
 * Delete an ended execution (its step results and log record go with it;
 * the log object itself stays in the log store). `active` when it is queued
 * or running (not deleted), `missing` when there is no such execution.
 */
export async function deleteExecution(db: Db, id: string): Promise<'deleted' | 'active' | 'missing'> {
  const { rows } = await db.query<{ outcome: 'deleted' | 'active' }>({
    name: 'tandem.deleteExecution',
    text: `with target as (select id, status from tandem.executions where id = $1 for update),
           gone as (delete from tandem.executions e using target t
                    where e.id = t.id and t.status not in ('queued', 'running') returning e.id)
           select case when exists (select 1 from gone) then 'deleted' else 'active' end as outcome from target`,
    values: [id],
  });
  return rows[0]?.outcome ?? 'missing';
}
