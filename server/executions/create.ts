/**
 * Creating an execution of a job: option values are validated (required,
 * enforced values, regex) before anything is written, secure values are
 * masked in the stored row (the clear values only live in memory, handed to
 * the engine), and `multipleExecutions: false` is enforced by the database
 * (a unique partial index) so that two concurrent requests cannot both win.
 *
 * Runs on a client that is inside the caller's transaction, after the
 * caller's `assertWritable`; or, with `checkSite`, as one statement that
 * checks the site's role itself (on the pool or in a transaction).
 */
import { TandemError } from '../errors.js';
import type { JobDefinition } from '../jobs/definition.js';
import { resolveOptionValues } from '../jobs/options.js';
import type { Db } from '../db/db.js';
import { getExecution } from './sql/get-execution.js';
import { insertExecution, insertExecutionIfActive, type InsertExecution } from './sql/insert-execution.js';
import { isUniqueViolation } from '../db/tx.js';
import type { ExecutionRow, ExecutionTrigger } from './sql/executions.js';
import { assertRoleAllowed } from './site-gate.js';

/** What is needed of a job to run it (a job row, or the snapshot of an execution being retried). */
export interface RunnableJob {
  projectId: string;
  jobId: string | null;
  name: string;
  group: string;
  definition: JobDefinition;
}

export interface CreateExecutionInput {
  job: RunnableJob;
  /** Option values as given by the caller (validated here), or already resolved values for a retry. */
  options: Record<string, unknown>;
  trigger: ExecutionTrigger;
  user: string | null;
  /** The user's roles now (null: not known): the execution's rights when it references other jobs (jobref-access.ts). */
  roles: string[] | null;
  member: string;
  attempt?: number;
  retryOf?: string | null;
  scheduledTime?: Date | null;
  /** Insert it running, to be started at once by this member's engine (see ExecutionEngine.startNowFor). */
  startNow?: { id: string; logStore: string; logKey: string };
  /**
   * The insert itself checks that this site may start work, in the same
   * statement (instead of the caller's `assertWritable` before it), and
   * returns the whole row. Being one statement, it needs no transaction:
   * the caller may pass the pool (autocommit), whose lost-connection retry
   * is safe here (see below).
   */
  checkSite?: boolean;
}

export interface CreatedExecution {
  id: string;
  /** Clear option values for the engine (never stored). */
  values: Record<string, string>;
  /** The execution as `getExecution` reads it (with `checkSite`). */
  row?: ExecutionRow;
}

export const MASK = '****';

export function maskedOptions(def: JobDefinition, values: Record<string, string>): Record<string, string> {
  const secure = new Set(def.options.filter((o) => o.secure).map((o) => o.name));
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, secure.has(k) ? MASK : v]));
}

export async function createExecution(client: Db, input: CreateExecutionInput): Promise<CreatedExecution> {
  const def = input.job.definition;
  if (!def.executionEnabled) {
    throw new TandemError('conflict', `execution of job "${jobTitle(input.job)}" is disabled (executionEnabled: false)`);
  }
  const values = resolveOptionValues(def, input.options);
  const insert: InsertExecution = {
    projectId: input.job.projectId,
    jobId: input.job.jobId,
    jobName: input.job.name,
    jobGroup: input.job.group,
    definition: def,
    options: maskedOptions(def, values),
    trigger: input.trigger,
    userName: input.user,
    userRoles: input.roles,
    member: input.member,
    exclusive: !def.multipleExecutions,
    attempt: input.attempt ?? 1,
    retryOf: input.retryOf ?? null,
    scheduledTime: input.scheduledTime ?? null,
    startNow: input.startNow,
  };
  try {
    if (input.checkSite) {
      const { gate, row } = await insertExecutionIfActive(client, insert);
      assertRoleAllowed(gate.role, gate.activeUrl, 'start');
      if (!row) throw new Error(`execution not inserted on an active site (role ${gate.role})`);
      return { id: row.id, values, row };
    }
    const { id } = await insertExecution(client, insert);
    return { id, values };
  } catch (e) {
    if (input.checkSite && input.startNow && isUniqueViolation(e, 'executions_pkey')) {
      // Our own id, chosen here: an earlier attempt committed and its answer was lost with its connection
      // (the pool asked again on a fresh one). The execution exists; answer with it.
      const row = await getExecution(client, input.startNow.id);
      if (row) return { id: row.id, values, row };
    }
    if (isUniqueViolation(e, 'executions_one_active')) {
      throw new TandemError('conflict', `job "${jobTitle(input.job)}" is already running and does not allow multiple executions`);
    }
    throw e;
  }
}

export function jobTitle(j: { name: string; group: string }): string {
  return j.group ? `${j.group}/${j.name}` : j.name;
}
