import type { Db } from '../../db/db.js';
import { jobSearchWhere, type JobSearch } from './job-search.js';

/** What an access check needs of a job (not its definition). */
export interface JobKey {
  id: string;
  name: string;
  groupPath: string;
}

/**
 * Id, name and group of every job matching a search, in list order: for
 * callers whose policies decide job by job, who are filtered before paging.
 */
export async function listJobKeys(db: Db, s: JobSearch): Promise<JobKey[]> {
  const { where, values } = jobSearchWhere(s);
  const { rows } = await db.query<JobKey>({
    name: 'tandem.listJobKeys',
    text: `select j.id, j.name, j.group_path as "groupPath" from tandem.jobs j where ${where} order by j.group_path, j.name`,
    values,
  });
  return rows;
}
