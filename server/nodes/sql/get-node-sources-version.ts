import type { Db } from '../../db/db.js';

/**
 * The version of a project's stored source list (0 when it never had one).
 * One indexed read, done on every use of a cached model, so that a member
 * whose cache predates a change made elsewhere (another member, or the other
 * site before a switchover: the row is replicated) rebuilds it at once.
 */
export async function getNodeSourcesVersion(db: Db, project: string): Promise<number> {
  const { rows } = await db.query<{ version: number }>({
    name: 'tandem.getNodeSourcesVersion',
    text: `select ns.version from tandem.node_sources ns join tandem.projects p on p.id = ns.project_id where p.name = $1::text`,
    values: [project],
  });
  return rows[0]?.version ?? 0;
}
