import type { Db } from '../../db/db.js';
import type { ExecutionNodeStatus } from './execution-nodes.js';

export async function setExecutionNodeStatus(db: Db, executionId: string, node: string, status: ExecutionNodeStatus): Promise<void> {
  await db.query({
    name: 'tandem.setExecutionNodeStatus',
    text: `update tandem.execution_nodes set status = $3::text where execution_id = $1::uuid and node = $2::text`,
    values: [executionId, node, status],
  });
}
