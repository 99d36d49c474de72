/**
 * Import (upsert) parsed job definitions into a project, in the caller's
 * transaction, so that a document with one bad or forbidden job writes
 * nothing. A job is matched by its uuid, else by group + name within the
 * project (Rundeck's "update" duplicate option); a new job without uuid
 * gets one.
 *
 * Order: validate everything, find every existing job the document names
 * (one query), check the caller's right on each job (`create` for a new
 * one; `update` for an existing one, on its current and its new name), and
 * only then write them all (one statement). The time is linear in the
 * document's size: 12,000 jobs are two round trips, not 24,000.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { TandemError, isTandemError } from '../errors.js';
import type { JobDefinition } from '../jobs/definition.js';
import { compileSchedule } from '../schedule/cron.js';
import { findImportTargets, type ImportTarget } from '../jobs/sql/find-import-targets.js';
import type { Project } from '../projects/sql/projects.js';
import { isUniqueViolation } from '../db/tx.js';
import { upsertJobs } from '../jobs/sql/upsert-jobs.js';
import { setJobAuthorRoles } from '../jobs/sql/set-job-author-roles.js';
import { checkImportedJobRefs, type RefAccess } from '../executions/jobref-access.js';

export interface ImportedJob {
  id: string;
  name: string;
  group: string | null;
  created: boolean;
}

/** A job an import creates or replaces, for the caller's access check. */
export interface ImportCheck {
  action: 'create' | 'update';
  job: { name: string; group: string };
  /** The document's field of this job (`jobs[3]`), for messages. */
  field: string;
}

export interface ImportOptions {
  fieldPrefix?: (i: number) => string;
  /** Throws when the caller may not do `action` on `job` (an HTTP 403); called for every job before anything is written. */
  authorize?: (check: ImportCheck) => void;
  /**
   * The importing user's rights: every job reference must be one they may run (executions/jobref-access.ts), and
   * scheduled runs of these jobs use their roles. Absent only for the server's own jobs (the demo).
   */
  access?: RefAccess;
}

const key = (group: string, name: string) => `${group}\u0000${name}`;

export async function importJobs(client: pg.ClientBase, project: Project, jobs: JobDefinition[], user: string | null, opts: ImportOptions = {}): Promise<ImportedJob[]> {
  const prefix = opts.fieldPrefix ?? ((i: number) => `jobs[${i}]`);
  const seenIds = new Map<string, number>();
  const seenNames = new Map<string, number>();
  jobs.forEach((def, i) => {
    const field = prefix(i);
    if (def.schedule) {
      try {
        compileSchedule(def.schedule);
      } catch (e) {
        if (isTandemError(e)) throw new TandemError(e.code, e.message, { field: e.field?.startsWith('jobs[') ? e.field : `${field}.schedule`, details: e.details });
        throw e;
      }
    }
    // One statement cannot write a row twice; a document that names a job twice is a mistake anyway.
    const k = key(def.group ?? '', def.name);
    const again = seenNames.get(k) ?? (def.uuid ? seenIds.get(def.uuid) : undefined);
    if (again !== undefined) throw new TandemError('validation_failed', `${field} names the same job as ${prefix(again)}`, { field: `${field}.name` });
    seenNames.set(k, i);
    if (def.uuid) seenIds.set(def.uuid, i);
  });

  const targets = await findImportTargets(
    client,
    project.id,
    [...seenIds.keys()],
    jobs.map((d) => ({ groupPath: d.group ?? '', name: d.name })),
  );
  const byId = new Map<string, ImportTarget>();
  const byName = new Map<string, ImportTarget>();
  for (const t of targets) {
    byId.set(t.id, t);
    if (t.projectId === project.id) byName.set(key(t.groupPath, t.name), t);
  }

  const rows = jobs.map((def, i) => {
    const field = prefix(i);
    const group = def.group ?? '';
    const sameName = byName.get(key(group, def.name));
    let existing: ImportTarget | undefined;
    if (def.uuid) {
      existing = byId.get(def.uuid);
      // Not which project: the caller may not be allowed to know that it exists, nor where.
      if (existing && existing.projectId !== project.id)
        throw new TandemError('conflict', `job uuid ${def.uuid} is already used by a job of another project`, { field: `${field}.uuid` });
      if (sameName && sameName.id !== def.uuid)
        throw new TandemError('conflict', `another job named "${group ? group + '/' : ''}${def.name}" already exists in project ${project.name}`, { field: `${field}.name` });
    } else existing = sameName;
    if (existing) {
      opts.authorize?.({ action: 'update', job: { name: existing.name, group: existing.groupPath }, field });
      if (existing.name !== def.name || existing.groupPath !== group) opts.authorize?.({ action: 'update', job: { name: def.name, group }, field });
    } else opts.authorize?.({ action: 'create', job: { name: def.name, group }, field });
    const id = def.uuid ?? existing?.id ?? randomUUID();
    return { id, definition: { ...def, uuid: id } };
  });

  if (opts.access) await checkImportedJobRefs(client, opts.access, project.name, jobs, prefix);
  let written: Array<{ id: string; created: boolean }>;
  try {
    written = await upsertJobs(client, project.id, user, rows);
  } catch (e) {
    // Two jobs of the document trading names, or a concurrent import: the names were free when looked up.
    if (isUniqueViolation(e)) throw new TandemError('conflict', `a job name of the document is already used in project ${project.name} (imported concurrently?)`, { field: 'jobs' });
    throw e;
  }
  await setJobAuthorRoles(client, rows.map((r) => r.id), opts.access?.subject.roles ?? null);
  const created = new Map(written.map((w) => [w.id, w.created]));
  return rows.map((r) => ({ id: r.id, name: r.definition.name, group: r.definition.group ?? null, created: created.get(r.id) ?? false }));
}
