/**
 * Runs a job's sequence of steps in order on the local node: `exec` and
 * `script` steps through the Executor, `jobref` steps by running the
 * referenced job's own sequence inline (its steps are numbered `2/1`,
 * `2/2`, ... under the referencing step 2), like Rundeck. `keepgoing: false`
 * stops at the first failed step; `true` runs the rest and fails at the end.
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import { errorMessage } from '../errors.js';
import type { JobDefinition, Step } from '../jobs/definition.js';
import { expandScriptTokens, optionEnv } from '../jobs/interpolate.js';
import { optionReferencesForShell } from '../jobs/shell-references.js';
import { resolveOptionValues, secureOptionValues } from '../jobs/options.js';
import type { Logger } from '../log.js';
import { logTime, type LogLevel, type LogWriter } from '../logs/store.js';
import { finishStepResult, startStepResult, type StepStatus } from './sql/step-results.js';
import type { Executor, StepCommand, StepExit, StepProcess } from './executor.js';
import { parseJobRefArgs } from './jobref-args.js';
import { referencedJobFor, type RefAccess } from './jobref-access.js';
import { captureStream, makeMasker } from './output.js';
import { expandContextTokens, rundeckEnv, type ContextData } from '../nodes/context.js';
import { errorHandlerOf, resultContext } from '../nodes/error-handler.js';
import type { NodeEntry } from '../nodes/node-executor.js';

export const LOCAL_NODE = hostname();
const MAX_JOBREF_DEPTH = 10;

export type StopReason = 'aborted' | 'timedout';

/** Shared by every step of one execution. */
export interface StepRunContext {
  pool: pg.Pool;
  executor: Executor;
  log: Logger;
  executionId: string;
  project: string;
  writer: LogWriter;
  /** Masks every secure value of the execution and of referenced jobs. */
  secrets: string[];
  /** The rights of the user who started the execution: a job reference runs only a job they may run (jobref-access.ts). */
  access: RefAccess;
  /** Set when the execution must stop (abort, timeout). */
  stopReason(): StopReason | null;
  /** The step process currently running, so abort/timeout can kill it. */
  setCurrent(p: StepProcess | null): void;
  /** The node steps run on (server/nodes/dispatch.ts); absent: the server itself through `executor`. */
  node?: NodeEntry;
  /** Starts a command on `node` with its node executor; absent: `executor.start`. */
  startOnNode?: (cmd: StepCommand) => Promise<StepProcess>;
  /** Rundeck context data: `${node.*}`, `${job.*}`, `${result.*}`, `@node.name@`, `RD_*` variables (server/nodes/context.ts). */
  context?: Partial<ContextData>;
}

export interface SequenceResult {
  ok: boolean;
  /** First failure, for the execution's status reason. */
  failure?: string;
  /** The failed command's exit code (for an error handler's `${result.resultCode}`). */
  exitCode?: number | null;
}

export function systemLine(w: LogWriter, text: string, step: string | null = null, level: LogLevel = 'NORMAL', node: string = LOCAL_NODE): void {
  w.append({ time: logTime(), level, step, node, stream: 'system', text });
}

export async function runSequence(
  ctx: StepRunContext,
  def: JobDefinition,
  values: Record<string, string>,
  prefix = '',
  depth = 0,
): Promise<SequenceResult> {
  let result: SequenceResult = { ok: true };
  const steps = def.sequence.steps;
  for (let i = 0; i < steps.length; i++) {
    if (ctx.stopReason()) return { ok: false, failure: result.failure };
    const id = prefix ? `${prefix}/${i + 1}` : String(i + 1);
    const r = await runStep(ctx, steps[i]!, values, id, depth);
    if (!r.ok) {
      result = { ok: false, failure: result.failure ?? r.failure };
      if (!def.sequence.keepgoing) break;
    }
  }
  return result;
}

/**
 * One step with its error handler: when the step fails (not when the
 * execution is stopped), the handler runs on the same node with
 * `${result.reason|message|resultCode}`; its success counts as the step's
 * only with `keepgoingOnSuccess` (Rundeck), otherwise the failure stands.
 */
export async function runStep(ctx: StepRunContext, step: Step, values: Record<string, string>, id: string, depth = 0): Promise<SequenceResult> {
  const r = step.kind === 'jobref' ? await runJobRef(ctx, step, values, id, depth) : await runCommandStep(ctx, step, values, id);
  if (r.ok || ctx.stopReason()) return r;
  const node = ctx.node?.name ?? LOCAL_NODE;
  let handler: ReturnType<typeof errorHandlerOf>;
  try {
    handler = errorHandlerOf(step, id);
  } catch (e) {
    // Stored before error handlers were checked at import: the step's failure stands, with the reason.
    systemLine(ctx.writer, `step ${id}: its error handler cannot run: ${errorMessage(e)}`, id, 'ERROR', node);
    return r;
  }
  if (!handler) return r;
  systemLine(ctx.writer, `step ${id} failed: running its error handler`, id, 'NORMAL', node);
  const hctx: StepRunContext = { ...ctx, context: { ...ctx.context, result: resultContext(r) } };
  const h = await runStep(hctx, handler.step, values, `${id}-handler`, depth);
  if (h.ok && handler.keepgoingOnSuccess) {
    systemLine(ctx.writer, `step ${id}: error handler succeeded; going on (keepgoingOnSuccess)`, id, 'NORMAL', node);
    return { ok: true };
  }
  return r;
}

/**
 * Option values never become shell syntax: `${option.X}` in a command line or
 * in script arguments turns into a quoted reference to `$TANDEM_OPTION_X`
 * (set in `env`), which the shell expands as data. Script bodies get
 * Rundeck's `@option.X@` tokens, as Rundeck documents them.
 */
function stepCommand(
  step: Exclude<Step, { kind: 'jobref' }>,
  values: Record<string, string>,
  env: Record<string, string>,
  node: string,
  context: Partial<ContextData>,
): StepCommand {
  if (step.kind === 'exec') return { kind: 'shell', node, command: optionReferencesForShell(step.exec), env };
  return {
    kind: 'script',
    node,
    script: expandContextTokens(expandScriptTokens(step.script, values), context),
    args: optionReferencesForShell(step.args ?? ''),
    interpreter: step.interpreter,
    env,
  };
}

async function runCommandStep(ctx: StepRunContext, step: Exclude<Step, { kind: 'jobref' }>, values: Record<string, string>, id: string): Promise<SequenceResult> {
  const mask = makeMasker(ctx.secrets);
  const what = step.description ?? (step.kind === 'exec' ? step.exec : `script${step.args ? ' ' + step.args : ''}`);
  const node = ctx.node?.name ?? LOCAL_NODE;
  await startStepResult(ctx.pool, ctx.executionId, id, node);
  // The template is logged, not the expanded command, so secure values never appear.
  systemLine(ctx.writer, `step ${id} started: ${mask(what)}`, id, 'NORMAL', node);
  const context = ctx.context ?? {};
  const env = {
    ...rundeckEnv(context, values),
    ...optionEnv(values),
    TANDEM_EXECUTION_ID: ctx.executionId,
    TANDEM_PROJECT: ctx.project,
    TANDEM_STEP: id,
    TANDEM_NODE: node,
  };
  let status: StepStatus;
  let exitCode: number | null = null;
  let message: string | null = null;
  try {
    const cmd = stepCommand(step, values, env, node, context);
    const proc = await (ctx.startOnNode ? ctx.startOnNode(cmd) : ctx.executor.start(cmd));
    ctx.setCurrent(proc);
    // A stop requested while the process was being started must still kill it.
    if (ctx.stopReason()) proc.kill();
    const capture = { writer: ctx.writer, step: id, node, mask };
    // Wait for the process AND both streams, even when one capture fails, so
    // that no output arrives after the log is finished.
    const captures = [captureStream(proc.stdout, 'stdout', capture), captureStream(proc.stderr, 'stderr', capture)];
    // A log that cannot take output any more must not leave the step running unseen.
    for (const c of captures) c.catch(() => proc.kill());
    const [exit, ...captured] = await Promise.allSettled([proc.exited, ...captures]);
    ctx.setCurrent(null);
    for (const c of captured) if (c.status === 'rejected') throw c.reason;
    if (exit!.status === 'rejected') throw exit!.reason;
    const { value: exitValue } = exit as PromiseFulfilledResult<StepExit>;
    exitCode = exitValue.exitCode;
    const stop = ctx.stopReason();
    if (stop) {
      status = stop;
      message = stop === 'aborted' ? 'killed: execution aborted' : 'killed: execution timed out';
    } else if (exitValue.exitCode === 0) {
      status = 'succeeded';
    } else {
      status = 'failed';
      message = exitValue.signal ? `ended by signal ${exitValue.signal}` : `exit code ${exitValue.exitCode}`;
    }
  } catch (e) {
    ctx.setCurrent(null);
    status = 'failed';
    message = mask(`could not run: ${errorMessage(e)}`);
  }
  await finishStepResult(ctx.pool, { executionId: ctx.executionId, step: id, node, status, exitCode, message });
  // Named only when dispatched over nodes (a server-only job's reasons read as before).
  const on = ctx.startOnNode ? ` on ${node}` : '';
  systemLine(ctx.writer, `step ${id} ${status}${on}${message ? ` (${message})` : ''}`, id, status === 'succeeded' ? 'NORMAL' : 'ERROR', node);
  return status === 'succeeded' ? { ok: true } : { ok: false, failure: `step ${id} ${status}${on}${message ? ` (${message})` : ''}`, exitCode };
}

async function runJobRef(
  ctx: StepRunContext,
  step: Extract<Step, { kind: 'jobref' }>,
  values: Record<string, string>,
  id: string,
  depth: number,
): Promise<SequenceResult> {
  const ref = step.ref;
  const title = ref.uuid ?? `${ref.group ? ref.group + '/' : ''}${ref.name ?? '?'}`;
  const fail = async (raw: string): Promise<SequenceResult> => {
    // Built from user data (arguments, option values): masked like any log line before it is stored or logged.
    const message = makeMasker(ctx.secrets)(raw);
    await startStepResult(ctx.pool, ctx.executionId, id, LOCAL_NODE);
    await finishStepResult(ctx.pool, { executionId: ctx.executionId, step: id, node: LOCAL_NODE, status: 'failed', exitCode: null, message });
    systemLine(ctx.writer, `step ${id} failed: ${message}`, id, 'ERROR');
    return { ok: false, failure: `step ${id} failed (${message})` };
  };
  if (depth >= MAX_JOBREF_DEPTH) return fail(`job references nested deeper than ${MAX_JOBREF_DEPTH} (a cycle?)`);
  try {
    // Checked now, not only at import: policies change. A job the user may not read is "not found", as a missing one.
    const job = await referencedJobFor(ctx.pool, ctx.access, ref, ctx.project);
    if (!job) return fail(`referenced job ${title} not found`);
    // Split the template first, then substitute (jobref-args.ts): a value never becomes several arguments.
    const given = parseJobRefArgs(ref.args, values);
    const subValues = resolveOptionValues(job.definition, given);
    ctx.secrets.push(...secureOptionValues(job.definition, subValues));
    systemLine(ctx.writer, `step ${id}: job reference ${job.groupPath ? job.groupPath + '/' : ''}${job.name}`, id);
    await startStepResult(ctx.pool, ctx.executionId, id, LOCAL_NODE);
    const r = await runSequence(ctx, job.definition, subValues, id, depth + 1);
    const stop = ctx.stopReason();
    const status: StepStatus = r.ok ? 'succeeded' : stop ?? 'failed';
    await finishStepResult(ctx.pool, { executionId: ctx.executionId, step: id, node: LOCAL_NODE, status, exitCode: null, message: r.failure ?? null });
    return r;
  } catch (e) {
    return fail(errorMessage(e));
  }
}
