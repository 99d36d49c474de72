/**
 * Import (upsert) parsed job definitions into a project, in the caller's
 * transaction, so that a document with one bad job writes nothing.
 * A job is matched by its uuid, else by group + name within the project
 * (Rundeck's "update" duplicate option); a new job without uuid gets one.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { TandemError, isTandemError } from '../errors.js';
import type { JobDefinition } from '../jobs/definition.js';
import { compileSchedule } from '../schedule/cron.js';
import { getJob } from '../sql/getJob.js';
import { getJobByName } from '../sql/getJobByName.js';
import type { Project } from '../sql/projects.js';
import { isUniqueViolation } from '../sql/tx.js';
import { upsertJob } from '../sql/upsertJob.js';

export interface ImportedJob {
  id: string;
  name: string;
  group: string | null;
  created: boolean;
}

export async function importJobs(
  client: pg.ClientBase,
  project: Project,
  jobs: JobDefinition[],
  user: string | null,
  opts: { fieldPrefix?: (i: number) => string } = {},
): Promise<ImportedJob[]> {
  const prefix = opts.fieldPrefix ?? ((i: number) => `jobs[${i}]`);
  const out: ImportedJob[] = [];
  for (let i = 0; i < jobs.length; i++) {
    const def = jobs[i]!;
    const field = prefix(i);
    if (def.schedule) {
      try {
        compileSchedule(def.schedule);
      } catch (e) {
        if (isTandemError(e)) throw new TandemError(e.code, e.message, { field: e.field?.startsWith('jobs[') ? e.field : `${field}.schedule`, details: e.details });
        throw e;
      }
    }
    let id = def.uuid;
    if (id) {
      const existing = await getJob(client, id);
      if (existing && existing.projectId !== project.id) {
        throw new TandemError('conflict', `job uuid ${id} already belongs to project ${existing.project}`, { field: `${field}.uuid` });
      }
    } else {
      id = (await getJobByName(client, project.name, def.group ?? '', def.name))?.id ?? randomUUID();
    }
    try {
      const r = await upsertJob(client, { id, projectId: project.id, definition: { ...def, uuid: id }, user });
      out.push({ id, name: def.name, group: def.group ?? null, created: r.created });
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new TandemError('conflict', `another job named "${def.group ? def.group + '/' : ''}${def.name}" already exists in project ${project.name}`, {
          field: `${field}.name`,
        });
      }
      throw e;
    }
  }
  return out;
}
