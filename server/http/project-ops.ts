/**
 * Creating and deleting projects for an API request: the one way both
 * Tandem's API (routes/projects.ts) and the Rundeck API (server/rundeck-api/)
 * do it, after their own authorization and parsing.
 */
import { TandemError } from '../errors.js';
import { assertWritable } from '../site/guard.js';
import { countActiveExecutions } from '../executions/sql/count-active-executions.js';
import { deleteProject } from '../projects/sql/delete-project.js';
import { insertProject } from '../projects/sql/insert-project.js';
import type { Project } from '../projects/sql/projects.js';
import { isUniqueViolation, withTransaction } from '../db/tx.js';
import type { AppDeps } from './deps.js';
import { mustGetProject } from './lookup.js';

// Not only dots: ".", ".." and "..." would be path segments in log keys and URLs.
export const PROJECT_NAME = /^(?!\.+$)[A-Za-z0-9_.-]{1,100}$/;

export function validProjectName(name: unknown): string {
  if (typeof name !== 'string' || !PROJECT_NAME.test(name)) {
    throw new TandemError('validation_failed', 'name: 1 to 100 letters, digits, "_", "." or "-", not only dots', { field: 'name' });
  }
  return name;
}

export async function createProject(deps: AppDeps, p: { name: string; description: string; user: string }): Promise<Project> {
  return withTransaction(deps.pool, async (c) => {
    await assertWritable(c);
    try {
      return await insertProject(c, { name: p.name, description: p.description, createdBy: p.user });
    } catch (e) {
      if (isUniqueViolation(e)) throw new TandemError('conflict', `project ${p.name} already exists`, { field: 'name' });
      throw e;
    }
  });
}

/** Delete a project with its jobs and executions; refused while it has queued or running executions. */
export async function removeProject(deps: AppDeps, name: string): Promise<void> {
  await withTransaction(deps.pool, async (c) => {
    await assertWritable(c);
    // Lock the project row so no execution starts between the check and the delete.
    const p = await mustGetProject(c, name, { forUpdate: true });
    const active = await countActiveExecutions(c, p.id);
    if (active) throw new TandemError('conflict', `project ${name} has ${active} queued or running execution(s); abort them or wait`);
    await deleteProject(c, p.id);
  });
}
