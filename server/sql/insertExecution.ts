import type { Db } from './db.js';
import type { ExecutionTrigger } from './executions.js';

export interface InsertExecution {
  projectId: string;
  jobId: string | null;
  jobName: string;
  jobGroup: string;
  definition: unknown;
  /** Option values with secure ones masked. */
  options: Record<string, string>;
  trigger: ExecutionTrigger;
  userName: string | null;
  member: string;
  exclusive: boolean;
  attempt: number;
  retryOf: string | null;
  scheduledTime: Date | null;
  /**
   * Insert it already `running` under this id and log key (the member that
   * inserts it runs it at once): saves a transaction between the request and
   * the execution running. Without it the execution is `queued`.
   */
  startNow?: { id: string; logStore: string; logKey: string };
}

/**
 * Insert a queued (or, with `startNow`, running) execution, and in the same
 * statement the record of its log object when it starts now. For an
 * exclusive job a second active execution raises unique_violation on
 * executions_one_active.
 */
export async function insertExecution(db: Db, e: InsertExecution): Promise<{ id: string; createdAt: Date }> {
  const { rows } = await db.query<{ id: string; createdAt: Date }>({
    name: 'tandem.insertExecution',
    text: `with e as (
             insert into tandem.executions (id, project_id, job_id, job_name, job_group, definition, options, trigger, user_name,
               member, exclusive, attempt, retry_of, scheduled_time, status, started_at)
             values (coalesce($14::uuid, gen_random_uuid()), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
               case when $14::uuid is null then 'queued' else 'running' end, case when $14::uuid is null then null else now() end)
             returning id, created_at),
           l as (
             insert into tandem.log_objects (execution_id, store, key, size, complete)
             select id, $15, $16, 0, false from e where $14::uuid is not null)
           select id, created_at as "createdAt" from e`,
    values: [
      e.projectId,
      e.jobId,
      e.jobName,
      e.jobGroup,
      JSON.stringify(e.definition),
      JSON.stringify(e.options),
      e.trigger,
      e.userName,
      e.member,
      e.exclusive,
      e.attempt,
      e.retryOf,
      e.scheduledTime,
      e.startNow?.id ?? null,
      e.startNow?.logStore ?? null,
      e.startNow?.logKey ?? null,
    ],
  });
  return rows[0]!;
}
