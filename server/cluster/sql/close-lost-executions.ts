import type { Db } from '../../db/db.js';

export interface LostExecution {
  id: string;
  logKey: string | null;
  projectId: string;
  jobId: string | null;
  jobName: string;
  jobGroup: string;
  definition: unknown;
  options: Record<string, string>;
  userName: string | null;
  /** The roles of the user who started it: a retry's job references are checked against them. */
  userRoles: string[] | null;
  attempt: number;
  retryOf: string | null;
}

/**
 * In the transaction that declared `member` lost: close its running
 * executions, and the queued ones it had taken for itself (not those handed
 * to it by another member, which are handed to someone else instead, see
 * handovers), as failed with `reason`. Returns what a retry needs.
 */
export async function closeLostExecutions(db: Db, member: string, reason: string): Promise<LostExecution[]> {
  const { rows } = await db.query<LostExecution>({
    name: 'tandem.cluster.closeLostExecutions',
    text: `with closed as (
             update tandem.executions e set status = 'failed', status_reason = $2, ended_at = now()
             where e.member = $1 and (e.status = 'running'
               or (e.status = 'queued' and not exists (select 1 from tandem_site.handovers h where h.execution_id = e.id)))
             returning e.*)
           select c.id, l.key as "logKey", c.project_id as "projectId", c.job_id as "jobId", c.job_name as "jobName",
             c.job_group as "jobGroup", c.definition, c.options, c.user_name as "userName", c.user_roles as "userRoles", c.attempt, c.retry_of as "retryOf"
           from closed c left join tandem.log_objects l on l.execution_id = c.id`,
    values: [member, reason],
  });
  return rows;
}
