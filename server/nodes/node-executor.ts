// server/nodes/node-executor.ts
import type { StepCommand, StepProcess } from '../executions/executor.js';
/** One node of a project's resource model: its name and every attribute as a string (tags as a list). */
export interface NodeEntry { name: string; attributes: Record<string, string>; tags: string[] }
/** Runs a step's command on one node. `local` runs on the server itself; `ssh` (server/nodes/ssh/) over SSH. */
export interface NodeExecutor {
  readonly kind: string;
  start(node: NodeEntry, cmd: StepCommand, ctx: { project: string; executionId: string }): Promise<StepProcess>;
  close(): Promise<void>;
}
