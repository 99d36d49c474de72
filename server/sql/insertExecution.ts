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
}

/**
 * Insert a queued execution. For an exclusive job a second active execution
 * raises unique_violation on executions_one_active.
 */
export async function insertExecution(db: Db, e: InsertExecution): Promise<{ id: string; createdAt: Date }> {
  const { rows } = await db.query<{ id: string; createdAt: Date }>({
    name: 'tandem.insertExecution',
    text: `insert into tandem.executions (project_id, job_id, job_name, job_group, definition, options, trigger, user_name,
             member, exclusive, attempt, retry_of, scheduled_time)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           returning id, created_at as "createdAt"`,
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
    ],
  });
  return rows[0]!;
}
