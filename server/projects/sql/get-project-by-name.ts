import type { Db } from '../../db/db.js';
import { projectColumns, type Project } from './projects.js';

export async function getProjectByName(db: Db, name: string, opts: { forUpdate?: boolean } = {}): Promise<Project | null> {
  const { rows } = await db.query<Project>({
    name: opts.forUpdate ? 'tandem.getProjectByNameForUpdate' : 'tandem.getProjectByName',
    text: `select ${projectColumns} from tandem.projects where name = $1${opts.forUpdate ? ' for update' : ''}`,
    values: [name],
  });
  return rows[0] ?? null;
}
