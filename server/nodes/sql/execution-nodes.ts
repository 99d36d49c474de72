import type { Db } from '../../db/db.js';

export type ExecutionNodeStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'aborted' | 'timedout';

/** Records the target nodes of an execution in dispatch order (all pending). */
export async function insertExecutionNodes(db: Db, executionId: string, nodes: string[]): Promise<void> {
  if (!nodes.length) return;
  await db.query({
    name: 'tandem.insertExecutionNodes',
    text: `insert into tandem.execution_nodes (execution_id, node, position)
           select $1::uuid, n, o::int - 1 from unnest($2::text[]) with ordinality as t(n, o)
           on conflict (execution_id, node) do nothing`,
    values: [executionId, nodes],
  });
}
