import type { Db } from '../../db/db.js';
import type { NodeSourcesRow } from './get-node-sources.js';

/** Replaces a project's source list (version + 1). */
export async function putNodeSources(db: Db, projectId: string, sources: unknown[], user: string | null): Promise<NodeSourcesRow> {
  const { rows } = await db.query<NodeSourcesRow>({
    name: 'tandem.putNodeSources',
    text: `insert into tandem.node_sources (project_id, sources, updated_by) values ($1::uuid, $2::jsonb, $3::text)
           on conflict (project_id) do update set sources = excluded.sources, updated_by = excluded.updated_by,
             version = tandem.node_sources.version + 1, updated_at = now()
           returning sources, version, updated_by as "updatedBy", updated_at as "updatedAt"`,
    values: [projectId, JSON.stringify(sources), user],
  });
  return rows[0]!;
}
