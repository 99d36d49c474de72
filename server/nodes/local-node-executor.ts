/**
 * `node-executor: local`: runs a node's steps on the server itself with the
 * server's step executor (server/executions/local-executor.ts). The server's
 * own node uses it; so can any node that says so (tests, and nodes that are
 * only names for work done here).
 */
import type { Executor, StepCommand, StepProcess } from '../executions/executor.js';
import type { NodeEntry, NodeExecutor } from './node-executor.js';

export class LocalNodeExecutor implements NodeExecutor {
  readonly kind = 'local';
  constructor(private readonly executor: Executor) {}

  start(node: NodeEntry, cmd: StepCommand): Promise<StepProcess> {
    return this.executor.start({ ...cmd, node: node.name });
  }

  /** The server's executor is closed by the composition root. */
  async close(): Promise<void> {}
}
