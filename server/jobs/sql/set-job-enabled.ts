import type { Db } from '../../db/db.js';

/**
 * Turn a job's executions and/or its schedule on or off (null: leave as is),
 * in its columns and in its stored definition, so that an export shows the
 * same flags the scheduler obeys. False when the job does not exist.
 */
export async function setJobEnabled(db: Db, id: string, flags: { execution: boolean | null; schedule: boolean | null }, user: string | null): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'tandem.setJobEnabled',
    text: `update tandem.jobs set
             execution_enabled = coalesce($2, execution_enabled),
             schedule_enabled = coalesce($3, schedule_enabled),
             definition = jsonb_set(jsonb_set(definition, '{executionEnabled}', to_jsonb(coalesce($2, execution_enabled))),
                                    '{scheduleEnabled}', to_jsonb(coalesce($3, schedule_enabled))),
             updated_by = $4, updated_at = now(), version = version + 1
           where id = $1`,
    values: [id, flags.execution, flags.schedule, user],
  });
  return (rowCount ?? 0) > 0;
}
