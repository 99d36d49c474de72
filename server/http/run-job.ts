/**
 * Starting and aborting executions for an API request: the one way both
 * Tandem's API (routes/executions.ts) and the Rundeck API
 * (server/rundeck-api/) do it, after their own authorization and parsing.
 */
import { TandemError } from '../errors.js';
import { createExecution, type CreateExecutionInput } from '../executions/create.js';
import { guardMustDecide } from '../executions/site-gate.js';
import { definitionWithFilter } from '../nodes/run-filter.js';
import { assertWritable } from '../site/guard.js';
import { isFinal } from '../executions/status.js';
import type { ExecutionRow } from '../executions/sql/executions.js';
import { getExecution } from '../executions/sql/get-execution.js';
import type { JobRow } from '../jobs/sql/jobs.js';
import { requestAbort } from '../executions/sql/request-abort.js';
import { withTransaction } from '../db/tx.js';
import type { AppDeps } from './deps.js';

/**
 * Create an execution of `job` with the caller's option values (and node filter) and start it: on this member, or
 * on the member the remote execution policy chooses (server/cluster/dispatch.ts), handed over through the database.
 * The new row.
 */
export async function runJob(
  deps: AppDeps,
  job: JobRow,
  options: Record<string, unknown>,
  caller: { user: string; roles: readonly string[] },
  /** A run request's node filter (checked by definitionWithFilter: refused unless the job allows it). */
  filter?: unknown,
): Promise<ExecutionRow> {
  if (!deps.engine.isAccepting) throw new TandemError('unavailable', 'the server is shutting down and accepts no new executions');
  const target = deps.dispatcher ? await deps.dispatcher.choose(job.project, job.definition) : deps.engine.member;
  const local = target === deps.engine.member;
  const input: CreateExecutionInput = {
    // A run request's `filter` replaces the job's node filter when the job allows it (nodeFilterEditable).
    job: { projectId: job.projectId, jobId: job.id, name: job.name, group: job.groupPath, definition: definitionWithFilter(job.definition, filter) },
    options,
    trigger: 'user',
    user: caller.user,
    // Stored with the execution: its job references are checked against these roles when they run.
    roles: [...caller.roles],
    member: target,
    startNow: local ? deps.engine.startNowFor({ project: job.project, jobId: job.id }) : undefined,
  };
  // One statement (its own transaction) checks the site's role, inserts, and returns the row to answer with.
  const created = await createExecution(deps.pool, { ...input, checkSite: true }).catch((e) => {
    // A read-only transaction (a passive site's sessions, 25006) refuses the insert before its role is known, and a
    // database without tandem_site.site (42P01) is a single active site: the guard tells these apart and says why.
    if (!guardMustDecide(e)) throw e;
    return withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      return createExecution(c, input);
    });
  });
  const row = created.row ?? (await getExecution(deps.pool, created.id))!;
  // Durability order: the queued execution naming its member is committed before the hand-over wakes that member.
  if (local) void deps.engine.start(created.id, created.values, row);
  else await deps.dispatcher!.handedOver(deps.pool, created.id, target);
  return row;
}

/** Abort: a queued execution is closed at once; a running one is killed by the member running it. The row after. */
export async function abortExecution(deps: AppDeps, e: ExecutionRow, user: string): Promise<ExecutionRow> {
  if (isFinal(e.status)) {
    throw new TandemError('conflict', `execution ${e.id} has already ended (${e.status})`);
  }
  const after = await withTransaction(deps.pool, async (c) => {
    await assertWritable(c);
    return requestAbort(c, e.id, user);
  });
  if (after?.status === 'running') deps.engine.abort(e.id, user);
  else if (after?.status === 'aborted') deps.metrics?.executions.executionFinished('aborted');
  return (await getExecution(deps.pool, e.id))!;
}
