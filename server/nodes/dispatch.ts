/**
 * Runs a job's workflow on its nodes (Rundeck's node dispatch).
 *
 * A job without a node filter runs on the server itself, as before. A job
 * with one: the project's model (catalog.ts) is filtered (filter.ts), ranked
 * by `rankAttribute` (default the name; numbers compare as numbers) in
 * `rankOrder`, recorded as the execution's target nodes, and the workflow
 * runs according to `sequence.strategy`:
 * - `node-first` (default): on each node all consecutive node steps (exec,
 *   script), then the next node; a job reference is a workflow step and
 *   runs once, between the node steps before and after it;
 * - `sequential` (step-first): each step on every node, then the next step;
 * - `parallel`: the steps at once, each dispatched over the nodes.
 * Up to `threadcount` nodes run at once. Within a node, `sequence.keepgoing`
 * decides whether later steps run after a failed one; across nodes,
 * `nodefilters.dispatch.keepgoing` decides whether nodes not yet started run
 * after one failed. Any failed node fails the execution. An empty match
 * fails with "No matched nodes" unless `successOnEmptyNodeFilter`.
 *
 * Each node runs its steps with the node executor its `node-executor`
 * attribute names (default `local` for the server's own node, `ssh` for
 * every other); an executor this server does not have fails that node.
 */
import type { JobDefinition, Step } from '../jobs/definition.js';
import type { StepCommand, StepProcess } from '../executions/executor.js';
import { LOCAL_NODE, runSequence, runStep, systemLine, type SequenceResult, type StepRunContext } from '../executions/steps.js';
import type { NodeCatalog } from './catalog.js';
import { nodeContext } from './context.js';
import { compileNodeFilter } from './filter.js';
import { readNodeDispatch, type NodeDispatch } from './job-nodes.js';
import type { NodeEntry, NodeExecutor } from './node-executor.js';
import { insertExecutionNodes } from './sql/execution-nodes.js';
import { setExecutionNodeStatus } from './sql/set-execution-node-status.js';

/** Node executors of this server by kind (`local`, `ssh`, ...), filled by the composition root. */
export type NodeExecutors = ReadonlyMap<string, NodeExecutor>;

export interface DispatchDeps {
  catalog: NodeCatalog;
  executors: NodeExecutors;
}

/** The node executor kind a node asks for. */
export function executorKindOf(node: NodeEntry, local: NodeEntry): string {
  const kind = node.attributes['node-executor']?.trim();
  if (kind) return kind;
  return node.name === local.name ? 'local' : 'ssh';
}

/** Rundeck's rank: by attribute (nodename by default), numbers as numbers, then by name. */
export function rankNodes(nodes: NodeEntry[], attribute: string, order: 'ascending' | 'descending'): NodeEntry[] {
  const value = (n: NodeEntry) => (attribute === 'nodename' || attribute === 'name' ? n.name : n.attributes[attribute]);
  const numeric = (s: string | undefined) => (s !== undefined && /^-?\d+(\.\d+)?$/.test(s.trim()) ? Number(s) : null);
  const sorted = [...nodes].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    // Nodes without the attribute go last, in name order.
    if (va === undefined || vb === undefined) return va === vb ? cmp(a.name, b.name) : va === undefined ? 1 : -1;
    const na = numeric(va);
    const nb = numeric(vb);
    const c = na !== null && nb !== null ? na - nb : cmp(va, vb);
    return (order === 'descending' ? -c : c) || cmp(a.name, b.name);
  });
  return sorted;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Runs `work` for each item, at most `limit` at once, in order; stops starting new ones when `stop()` says so. */
async function eachLimited<T>(items: T[], limit: number, stop: () => boolean, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stop()) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const isNodeStep = (s: Step) => s.kind !== 'jobref';

/**
 * The whole workflow of an execution: on the server itself when the job has
 * no node filter, otherwise on its nodes.
 */
export async function runWorkflow(
  ctx: StepRunContext,
  def: JobDefinition,
  values: Record<string, string>,
  deps: DispatchDeps | undefined,
): Promise<SequenceResult> {
  const settings = deps ? readNodeDispatch(def) : null;
  const local = deps?.catalog.local;
  if (!deps || !settings) {
    // On the server itself, as its own node (step results and log lines name it), with the server's executor.
    return runSequence(local ? { ...ctx, node: local, context: { ...ctx.context, node: nodeContext(local) } } : ctx, def, values);
  }
  const model = await deps.catalog.get(ctx.project);
  const test = compileNodeFilter(settings.filter, { filterExclude: settings.filterExclude, excludePrecedence: settings.excludePrecedence });
  const nodes = rankNodes(model.nodes.filter(test), settings.rankAttribute, settings.rankOrder);
  for (const s of model.sources) {
    if (s.status === 'failed') systemLine(ctx.writer, `node source ${s.index + 1} (${s.type}) failed, its last good nodes are used: ${s.error}`, null, 'WARN');
  }
  if (!nodes.length) {
    if (settings.successOnEmptyNodeFilter) {
      systemLine(ctx.writer, 'No matched nodes (successOnEmptyNodeFilter: nothing to do)');
      return { ok: true };
    }
    systemLine(ctx.writer, `No matched nodes: ${settings.filter}`, null, 'ERROR');
    return { ok: false, failure: 'No matched nodes' };
  }
  await insertExecutionNodes(ctx.pool, ctx.executionId, nodes.map((n) => n.name));
  systemLine(ctx.writer, `dispatching to ${nodes.length} node(s) (${def.sequence.strategy}, threadcount ${settings.threadcount}): ${nodes.map((n) => n.name).join(', ')}`);
  return new NodeRun(ctx, def, values, deps, settings, nodes).run();
}

class NodeRun {
  private readonly failed = new Set<string>();
  /** Nodes that ran at least one step: those not failed succeeded; the others stay pending (never started). */
  private readonly started = new Set<string>();
  private readonly running = new Set<StepProcess>();
  private firstFailure: string | undefined;

  constructor(
    private readonly ctx: StepRunContext,
    private readonly def: JobDefinition,
    private readonly values: Record<string, string>,
    private readonly deps: DispatchDeps,
    private readonly settings: NodeDispatch,
    private readonly nodes: NodeEntry[],
  ) {}

  async run(): Promise<SequenceResult> {
    const steps = this.def.sequence.steps.map((step, i) => ({ step, id: String(i + 1) }));
    const strategy = this.def.sequence.strategy || 'node-first';
    if (!['node-first', 'sequential', 'step-first', 'parallel'].includes(strategy)) {
      // e.g. Rundeck Enterprise's `ruleset`: run, but say how.
      systemLine(this.ctx.writer, `sequence strategy "${strategy}" is not supported here: running node-first`, null, 'WARN');
    }
    if (strategy === 'parallel') {
      await Promise.all(steps.map((s) => this.stepOnAll(s)));
    } else if (strategy === 'sequential' || strategy === 'step-first') {
      for (const s of steps) {
        if (this.mustStop()) break;
        await this.stepOnAll(s);
      }
    } else {
      // node-first: runs of consecutive node steps per node; job references once, in between.
      let i = 0;
      while (i < steps.length && !this.mustStop()) {
        if (!isNodeStep(steps[i]!.step)) {
          await this.workflowStep(steps[i]!);
          i++;
          continue;
        }
        const run: typeof steps = [];
        while (i < steps.length && isNodeStep(steps[i]!.step)) run.push(steps[i++]!);
        await this.onNodes(this.nodes, async (n, nctx) => {
          for (const s of run) {
            if (this.ctx.stopReason()) return false;
            const r = await runStep(nctx, s.step, this.values, s.id);
            if (!r.ok) {
              this.fail(n, r);
              if (!this.def.sequence.keepgoing) return false;
            }
          }
          return true;
        });
      }
    }
    const stop = this.ctx.stopReason();
    for (const n of this.nodes) {
      if (!this.started.has(n.name)) {
        await setExecutionNodeStatus(this.ctx.pool, this.ctx.executionId, n.name, 'pending');
        continue;
      }
      const status = this.failed.has(n.name) ? 'failed' : (stop ?? 'succeeded');
      await setExecutionNodeStatus(this.ctx.pool, this.ctx.executionId, n.name, status);
    }
    if (this.started.size < this.nodes.length) {
      const skipped = this.nodes.filter((n) => !this.started.has(n.name)).map((n) => n.name);
      systemLine(this.ctx.writer, `not started on ${skipped.length} node(s) ${stop ? `(execution ${stop})` : "after a failure (keepgoing is false)"}: ${skipped.join(', ')}`, null, 'WARN');
    }
    if (this.failed.size) {
      return { ok: false, failure: `${this.firstFailure ?? 'failed'}; failed nodes: ${[...this.failed].join(', ')}` };
    }
    return this.ctx.stopReason() ? { ok: false, failure: this.firstFailure } : { ok: true };
  }

  /** A node failed and no more nodes start, unless the job keeps going. */
  private mustStop(): boolean {
    return this.ctx.stopReason() !== null || (this.failed.size > 0 && !this.settings.keepgoing) || (!!this.firstFailure && !this.def.sequence.keepgoing);
  }

  private fail(n: NodeEntry | null, r: SequenceResult): void {
    if (n) this.failed.add(n.name);
    this.firstFailure ??= r.failure;
  }

  private async workflowStep(s: { step: Step; id: string }): Promise<void> {
    const r = await runStep(this.ctx, s.step, this.values, s.id);
    if (!r.ok) this.fail(null, r);
  }

  private async stepOnAll(s: { step: Step; id: string }): Promise<void> {
    if (!isNodeStep(s.step)) return this.workflowStep(s);
    // Step-first: a node that failed an earlier step skips the later ones unless the sequence keeps going.
    const targets = this.def.sequence.keepgoing ? this.nodes : this.nodes.filter((n) => !this.failed.has(n.name));
    await this.onNodes(targets, async (n, nctx) => {
      const r = await runStep(nctx, s.step, this.values, s.id);
      if (!r.ok) this.fail(n, r);
      return r.ok;
    });
  }

  private async onNodes(nodes: NodeEntry[], work: (n: NodeEntry, ctx: StepRunContext) => Promise<boolean>): Promise<void> {
    await eachLimited(nodes, this.settings.threadcount, () => this.ctx.stopReason() !== null || (this.failed.size > 0 && !this.settings.keepgoing), async (n) => {
      this.started.add(n.name);
      await setExecutionNodeStatus(this.ctx.pool, this.ctx.executionId, n.name, 'running');
      await work(n, this.nodeCtx(n));
    });
  }

  private nodeCtx(n: NodeEntry): StepRunContext {
    const kind = executorKindOf(n, this.deps.catalog.local);
    const executor = this.deps.executors.get(kind);
    const project = this.ctx.project;
    const executionId = this.ctx.executionId;
    const startOnNode = async (cmd: StepCommand): Promise<StepProcess> => {
      if (!executor) throw new Error(`node executor "${kind}" is not available on this server (node ${n.name})`);
      return executor.start(n, { ...cmd, node: n.name }, { project, executionId });
    };
    // Several nodes run at once: abort and timeout must reach every process, not only the last one started.
    const setCurrent = (p: StepProcess | null, prior?: StepProcess | null) => {
      if (p) this.running.add(p);
      if (prior) this.running.delete(prior);
      this.ctx.setCurrent(this.running.size ? this.killAll : null);
    };
    let mine: StepProcess | null = null;
    return {
      ...this.ctx,
      node: n,
      startOnNode,
      context: { ...this.ctx.context, node: nodeContext(n) },
      setCurrent: (p) => {
        setCurrent(p, mine);
        mine = p;
      },
    };
  }

  private readonly killAll: StepProcess = {
    stdout: undefined as never,
    stderr: undefined as never,
    exited: Promise.resolve({ exitCode: null, signal: null }),
    kill: () => {
      for (const p of this.running) p.kill();
    },
  };
}

export { LOCAL_NODE };
