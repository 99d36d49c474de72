import type { Db } from '../../db/db.js';
import { jobColumns, type JobRow } from './jobs.js';

/** Jobs by id, in list order (group path, name); ids that do not exist are left out. */
export async function getJobsByIds(db: Db, ids: string[]): Promise<JobRow[]> {
  if (!ids.length) return [];
  const { rows } = await db.query<JobRow>({
    name: 'tandem.getJobsByIds',
    text: `select ${jobColumns} from tandem.jobs j join tandem.projects p on p.id = j.project_id
           where j.id = any($1::text[]) order by j.group_path, j.name`,
    values: [ids],
  });
  return rows;
}
