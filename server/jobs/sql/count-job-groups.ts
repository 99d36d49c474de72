import type { Db } from '../../db/db.js';
import { jobSearchWhere, type JobSearch } from './job-search.js';

/** Each group path of a project with how many jobs (matching the search) it holds directly; '' = outside any group. */
export async function countJobGroups(db: Db, s: JobSearch): Promise<{ group: string; count: number }[]> {
  const { where, values } = jobSearchWhere(s);
  const { rows } = await db.query<{ group: string; count: string }>({
    name: 'tandem.countJobGroups',
    text: `select j.group_path as "group", count(*) as count from tandem.jobs j where ${where} group by j.group_path order by j.group_path`,
    values,
  });
  return rows.map((r) => ({ group: r.group, count: Number(r.count) }));
}
