import type { Db } from '../../db/db.js';
import { jobColumns, type JobRow } from './jobs.js';

export async function listJobs(db: Db, projectId: string): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    name: 'tandem.listJobs',
    text: `select ${jobColumns} from tandem.jobs j join tandem.projects p on p.id = j.project_id
           where j.project_id = $1 order by j.group_path, j.name`,
    values: [projectId],
  });
  return rows;
}
