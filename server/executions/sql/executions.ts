/** Row shape of tandem.executions (with its project name and log record) as every reader sees it. */
import type { ExecutionStatus } from '../status.js';

export type { ExecutionStatus } from '../status.js';
export type ExecutionTrigger = 'user' | 'schedule' | 'retry';

export interface ExecutionRow {
  id: string;
  projectId: string;
  project: string;
  jobId: string | null;
  jobName: string;
  jobGroup: string;
  definition: unknown;
  status: ExecutionStatus;
  statusReason: string | null;
  options: Record<string, string>;
  trigger: ExecutionTrigger;
  userName: string | null;
  /** Roles of the user when the execution was started (its rights for job references); null: not known. */
  userRoles: string[] | null;
  member: string | null;
  exclusive: boolean;
  attempt: number;
  retryOf: string | null;
  scheduledTime: Date | null;
  abortRequestedAt: Date | null;
  abortRequestedBy: string | null;
  createdAt: Date;
  startedAt: Date | null;
  endedAt: Date | null;
  logKey: string | null;
  logSize: string | null;
  logComplete: boolean | null;
}

export const executionColumns = `e.id, e.project_id as "projectId", p.name as project, e.job_id as "jobId", e.job_name as "jobName",
  e.job_group as "jobGroup", e.definition, e.status, e.status_reason as "statusReason", e.options, e.trigger,
  e.user_name as "userName", e.user_roles as "userRoles", e.member, e.exclusive, e.attempt, e.retry_of as "retryOf", e.scheduled_time as "scheduledTime",
  e.abort_requested_at as "abortRequestedAt", e.abort_requested_by as "abortRequestedBy", e.created_at as "createdAt",
  e.started_at as "startedAt", e.ended_at as "endedAt", l.key as "logKey", l.size::text as "logSize", l.complete as "logComplete"`;

export const executionFrom = `tandem.executions e join tandem.projects p on p.id = e.project_id
  left join tandem.log_objects l on l.execution_id = e.id`;
