import type { Db } from '../../db/db.js';
import type { ExecutionNodeStatus } from './execution-nodes.js';

export interface ExecutionNodes {
  targetNodes: string[];
  successfulNodes: string[];
  failedNodes: string[];
}

/** An execution's target nodes and how they ended (empty lists for an execution that ran on the server only). */
export async function listExecutionNodes(db: Db, executionId: string): Promise<ExecutionNodes> {
  const { rows } = await db.query<{ node: string; status: ExecutionNodeStatus }>({
    name: 'tandem.listExecutionNodes',
    text: `select node, status from tandem.execution_nodes where execution_id = $1::uuid order by position`,
    values: [executionId],
  });
  return {
    targetNodes: rows.map((r) => r.node),
    successfulNodes: rows.filter((r) => r.status === 'succeeded').map((r) => r.node),
    failedNodes: rows.filter((r) => r.status !== 'succeeded' && r.status !== 'pending' && r.status !== 'running').map((r) => r.node),
  };
}
