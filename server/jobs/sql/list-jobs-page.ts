import type { Db } from '../../db/db.js';
import { jobColumns, type JobRow } from './jobs.js';
import { jobSearchWhere, type JobSearch } from './job-search.js';

/**
 * One page of a project's jobs (by group path, then name) matching a search,
 * and how many match in all. The order is the one of the unique index
 * (project_id, group_path, name), so a page is read from the index.
 */
export async function listJobsPage(db: Db, s: JobSearch, page: { limit: number; offset: number }): Promise<{ rows: JobRow[]; total: number }> {
  const { where, values } = jobSearchWhere(s);
  const [list, count] = await Promise.all([
    db.query<JobRow>({
      name: 'tandem.listJobsPage',
      text: `select ${jobColumns} from tandem.jobs j join tandem.projects p on p.id = j.project_id
             where ${where} order by j.group_path, j.name limit $4 offset $5`,
      values: [...values, page.limit, page.offset],
    }),
    db.query<{ total: string }>({ name: 'tandem.countJobs', text: `select count(*) as total from tandem.jobs j where ${where}`, values }),
  ]);
  return { rows: list.rows, total: Number(count.rows[0]!.total) };
}
