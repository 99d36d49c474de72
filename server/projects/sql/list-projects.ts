import type { Db } from '../../db/db.js';
import { projectColumns, type Project } from './projects.js';

export async function listProjects(db: Db): Promise<Project[]> {
  const { rows } = await db.query<Project>({
    name: 'tandem.listProjects',
    text: `select ${projectColumns} from tandem.projects order by name`,
  });
  return rows;
}
