import type { Db } from '../../db/db.js';
import { jobColumns, type JobRow } from './jobs.js';

export async function getJob(db: Db, id: string): Promise<JobRow | null> {
  const { rows } = await db.query<JobRow>({
    name: 'tandem.getJob',
    text: `select ${jobColumns} from tandem.jobs j join tandem.projects p on p.id = j.project_id where j.id = $1`,
    values: [id],
  });
  return rows[0] ?? null;
}
