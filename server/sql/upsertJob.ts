import type { Db } from './db.js';
import type { JobDefinition } from '../jobs/definition.js';

export interface UpsertJob {
  id: string;
  projectId: string;
  definition: JobDefinition;
  user: string | null;
}

/**
 * Insert or replace a job by id (Rundeck uuid). Moving a uuid to another
 * project is refused by the caller; a group+name already used by another
 * uuid raises unique_violation (jobs_project_id_group_path_name_key).
 */
export async function upsertJob(db: Db, j: UpsertJob): Promise<{ id: string; created: boolean }> {
  const d = j.definition;
  const { rows } = await db.query<{ id: string; created: boolean }>({
    name: 'tandem.upsertJob',
    text: `insert into tandem.jobs as t (id, project_id, group_path, name, description, definition, schedule_enabled,
             execution_enabled, multiple_executions, schedule, created_by, updated_by)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
           on conflict (id) do update set group_path = excluded.group_path, name = excluded.name,
             description = excluded.description, definition = excluded.definition,
             schedule_enabled = excluded.schedule_enabled, execution_enabled = excluded.execution_enabled,
             multiple_executions = excluded.multiple_executions, schedule = excluded.schedule,
             updated_by = excluded.updated_by, updated_at = now(), version = t.version + 1
           returning id, (xmax = 0) as created`,
    values: [
      j.id,
      j.projectId,
      d.group ?? '',
      d.name,
      d.description ?? '',
      JSON.stringify(d),
      d.scheduleEnabled,
      d.executionEnabled,
      d.multipleExecutions,
      d.schedule ? JSON.stringify(d.schedule) : null,
      j.user,
    ],
  });
  return rows[0]!;
}
