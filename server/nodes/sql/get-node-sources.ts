import type { Db } from '../../db/db.js';

export interface NodeSourcesRow {
  sources: unknown[];
  version: number;
  updatedBy: string | null;
  updatedAt: Date;
}

/** The stored source list of a project, or null when it never had one (only the local node then). */
export async function getNodeSources(db: Db, projectId: string): Promise<NodeSourcesRow | null> {
  const { rows } = await db.query<NodeSourcesRow>({
    name: 'tandem.getNodeSources',
    text: `select sources, version, updated_by as "updatedBy", updated_at as "updatedAt" from tandem.node_sources where project_id = $1::uuid`,
    values: [projectId],
  });
  return rows[0] ?? null;
}
