import type { Db } from '../../db/db.js';

/**
 * Record the roles of the user who just saved these jobs (one statement for
 * a whole import): a scheduled execution of a job runs with them, e.g. when
 * checking `run` on the jobs it references.
 */
export async function setJobAuthorRoles(db: Db, jobIds: string[], roles: string[] | null): Promise<void> {
  if (!jobIds.length) return;
  await db.query({
    name: 'tandem.setJobAuthorRoles',
    text: `update tandem.jobs set updated_by_roles = $2::text[] where id = any($1::text[])`,
    values: [jobIds, roles],
  });
}
