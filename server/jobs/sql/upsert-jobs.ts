import type { Db } from '../../db/db.js';
import type { JobDefinition } from '../definition.js';

export interface UpsertJobsRow {
  id: string;
  definition: JobDefinition;
}

/**
 * Insert or replace many jobs of one project by id in one statement (a job
 * import: linear in its size, one round trip). The rows travel as one JSON
 * array; ids must be distinct (the caller refuses a document naming a job
 * twice). Moving a uuid to another project is refused by the caller; a
 * group+name already used by another id raises unique_violation.
 */
export async function upsertJobs(db: Db, projectId: string, user: string | null, jobs: UpsertJobsRow[]): Promise<Array<{ id: string; created: boolean }>> {
  const rows = jobs.map(({ id, definition: d }) => ({
    id,
    group_path: d.group ?? '',
    name: d.name,
    description: d.description ?? '',
    definition: d,
    schedule_enabled: d.scheduleEnabled,
    execution_enabled: d.executionEnabled,
    multiple_executions: d.multipleExecutions,
    schedule: d.schedule ?? null,
  }));
  const { rows: out } = await db.query<{ id: string; created: boolean }>({
    name: 'tandem.upsertJobs',
    text: `insert into tandem.jobs as t (id, project_id, group_path, name, description, definition, schedule_enabled,
             execution_enabled, multiple_executions, schedule, created_by, updated_by)
           select r.id, $1, r.group_path, r.name, r.description, r.definition, r.schedule_enabled,
                  r.execution_enabled, r.multiple_executions, nullif(r.schedule, 'null'::jsonb), $2, $2
           from jsonb_to_recordset($3::jsonb) as r(id text, group_path text, name text, description text, definition jsonb,
                  schedule_enabled boolean, execution_enabled boolean, multiple_executions boolean, schedule jsonb)
           on conflict (id) do update set group_path = excluded.group_path, name = excluded.name,
             description = excluded.description, definition = excluded.definition,
             schedule_enabled = excluded.schedule_enabled, execution_enabled = excluded.execution_enabled,
             multiple_executions = excluded.multiple_executions, schedule = excluded.schedule,
             updated_by = excluded.updated_by, updated_at = now(), version = t.version + 1
           returning id, (xmax = 0) as created`,
    values: [projectId, user, JSON.stringify(rows)],
  });
  return out;
}
