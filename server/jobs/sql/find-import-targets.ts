import type { Db } from '../../db/db.js';

/** An existing job an import may replace: found by its id, or by group path + name in the importing project. */
export interface ImportTarget {
  id: string;
  projectId: string;
  groupPath: string;
  name: string;
}

/**
 * In one statement, the jobs a document names: every job whose id is one of
 * `ids` (in any project: a uuid already used elsewhere must be refused) and
 * every job of `projectId` with one of the (group path, name) pairs.
 */
export async function findImportTargets(
  db: Db,
  projectId: string,
  ids: string[],
  names: Array<{ groupPath: string; name: string }>,
): Promise<ImportTarget[]> {
  const { rows } = await db.query<ImportTarget>({
    name: 'tandem.findImportTargets',
    text: `select j.id, j.project_id as "projectId", j.group_path as "groupPath", j.name from tandem.jobs j
           where j.id = any($2::text[])
              or (j.project_id = $1 and (j.group_path, j.name) in (select g, n from unnest($3::text[], $4::text[]) as u(g, n)))`,
    values: [projectId, ids, names.map((n) => n.groupPath), names.map((n) => n.name)],
  });
  return rows;
}
