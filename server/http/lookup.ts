/** Find what a URL names, or answer 404. */
import { TandemError } from '../errors.js';
import type { Db } from '../sql/db.js';
import { getExecution } from '../sql/getExecution.js';
import { getJob } from '../sql/getJob.js';
import { getProjectByName } from '../sql/getProjectByName.js';
import type { ExecutionRow } from '../sql/executions.js';
import type { JobRow } from '../sql/jobs.js';
import type { Project } from '../sql/projects.js';
import { isUuid } from './params.js';

export async function mustGetProject(db: Db, name: string, opts: { forUpdate?: boolean } = {}): Promise<Project> {
  const p = await getProjectByName(db, name, opts);
  if (!p) throw new TandemError('not_found', `no project named ${JSON.stringify(name)}`);
  return p;
}

export async function mustGetJob(db: Db, id: string): Promise<JobRow> {
  const j = await getJob(db, id);
  if (!j) throw new TandemError('not_found', `no job with id ${JSON.stringify(id)}`);
  return j;
}

export async function mustGetExecution(db: Db, id: string): Promise<ExecutionRow> {
  const e = isUuid(id) ? await getExecution(db, id) : null;
  if (!e) throw new TandemError('not_found', `no execution with id ${JSON.stringify(id)}`);
  return e;
}

export function jobResource(j: { project: string; name: string; groupPath?: string; group?: string | null }) {
  const group = j.groupPath ?? j.group ?? '';
  return { project: j.project, job: group ? { name: j.name, group } : { name: j.name } };
}
