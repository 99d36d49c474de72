/**
 * Find what a URL names, or answer 404. A caller who may not read what was
 * found gets the same 404 (auth/http/authorize.ts authorizeNamed), so the
 * not-found errors are built here, once.
 */
import { TandemError } from '../errors.js';
import type { Db } from '../db/db.js';
import { getExecution } from '../executions/sql/get-execution.js';
import { getJob } from '../jobs/sql/get-job.js';
import { getProjectByName } from '../projects/sql/get-project-by-name.js';
import type { ExecutionRow } from '../executions/sql/executions.js';
import type { JobRow } from '../jobs/sql/jobs.js';
import type { Project } from '../projects/sql/projects.js';
import { isUuid } from './params.js';

/** Names and ids are printable text of bounded length: anything else cannot exist (404, never a database error). */
function plausibleKey(s: string, max: number): boolean {
  return s.length > 0 && s.length <= max && !/[\u0000-\u001f\u007f\uFFFD]/.test(s);
}

export const projectNotFound = (name: string) => new TandemError('not_found', `no project named ${JSON.stringify(name)}`);
export const jobNotFound = (id: string) => new TandemError('not_found', `no job with id ${JSON.stringify(id)}`);
export const executionNotFound = (id: string) => new TandemError('not_found', `no execution with id ${JSON.stringify(id)}`);

export async function mustGetProject(db: Db, name: string, opts: { forUpdate?: boolean } = {}): Promise<Project> {
  const p = plausibleKey(name, 100) ? await getProjectByName(db, name, opts) : null;
  if (!p) throw projectNotFound(name);
  return p;
}

export async function mustGetJob(db: Db, id: string): Promise<JobRow> {
  const j = plausibleKey(id, 200) ? await getJob(db, id) : null;
  if (!j) throw jobNotFound(id);
  return j;
}

export async function mustGetExecution(db: Db, id: string): Promise<ExecutionRow> {
  const e = isUuid(id) ? await getExecution(db, id) : null;
  if (!e) throw executionNotFound(id);
  return e;
}

export function jobResource(j: { project: string; name: string; groupPath?: string; group?: string | null }) {
  const group = j.groupPath ?? j.group ?? '';
  return { project: j.project, job: group ? { name: j.name, group } : { name: j.name } };
}
