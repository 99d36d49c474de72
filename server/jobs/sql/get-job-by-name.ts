import type { Db } from '../../db/db.js';
import { jobColumns, type JobRow } from './jobs.js';

/** A job by project name, group path ('' for none) and name (how Rundeck job references name jobs). */
export async function getJobByName(db: Db, project: string, groupPath: string, name: string): Promise<JobRow | null> {
  const { rows } = await db.query<JobRow>({
    name: 'tandem.getJobByName',
    text: `select ${jobColumns} from tandem.jobs j join tandem.projects p on p.id = j.project_id
           where p.name = $1 and j.group_path = $2 and j.name = $3`,
    values: [project, groupPath, name],
  });
  return rows[0] ?? null;
}
