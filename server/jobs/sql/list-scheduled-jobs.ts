import type { Db } from '../../db/db.js';
import { jobColumns, type JobRow } from './jobs.js';

/** Jobs with a schedule that is enabled and may execute: what the scheduler loop looks at. */
export async function listScheduledJobs(db: Db): Promise<JobRow[]> {
  const { rows } = await db.query<JobRow>({
    name: 'tandem.listScheduledJobs',
    text: `select ${jobColumns} from tandem.jobs j join tandem.projects p on p.id = j.project_id
           where j.schedule is not null and j.schedule_enabled and j.execution_enabled`,
  });
  return rows;
}
