import type { Db } from '../../db/db.js';
import { projectColumns, type Project } from './projects.js';

/** Insert a project; a duplicate name raises unique_violation (projects_name_key). */
export async function insertProject(db: Db, p: { name: string; description: string; createdBy: string | null }): Promise<Project> {
  const { rows } = await db.query<Project>({
    name: 'tandem.insertProject',
    text: `insert into tandem.projects (name, description, created_by) values ($1, $2, $3) returning ${projectColumns}`,
    values: [p.name, p.description, p.createdBy],
  });
  return rows[0]!;
}
