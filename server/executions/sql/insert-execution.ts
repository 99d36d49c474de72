import type { Db } from '../../db/db.js';
import { executionColumns, type ExecutionRow, type ExecutionTrigger } from './executions.js';

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
  /** The starter's roles (null: not known), checked at run time for job references. */
  userRoles?: string[] | null;
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
               member, exclusive, attempt, retry_of, scheduled_time, status, started_at, user_roles)
             values (coalesce($14::uuid, gen_random_uuid()), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
               case when $14::uuid is null then 'queued' else 'running' end, case when $14::uuid is null then null else now() end,
               $17::text[])
             returning id, created_at),
           l as (
             insert into tandem.log_objects (execution_id, store, key, size, complete)
             select id, $15, $16, 0, false from e where $14::uuid is not null)
           select id, created_at as "createdAt" from e`,
    values: insertValues(e),
  });
  return rows[0]!;
}

function insertValues(e: InsertExecution): unknown[] {
  return [
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
    e.userRoles ?? null,
  ];
}

/** What the insert found of the site's role (tandem_site.site, read `for share`; no row: a single active site). */
export interface SiteGate {
  role: string;
  activeUrl: string | null;
}

/**
 * `insertExecution` and the site's write check (what `assertWritable` reads)
 * in one statement, for the run request: the role row is read `for share`
 * in the same statement, hence in the same transaction, as the insert, and
 * the insert happens only when the role is `active`. Returns the whole
 * execution row as `getExecution` reads it (the request answers with it),
 * or, when the site may not start anything, the role it found and no row.
 *
 * A read-only transaction (a passive site's sessions) fails with SQLSTATE
 * 25006 like any insert, before the role is read; a database without
 * tandem_site.site fails with 42P01. The caller then asks the site guard.
 */
export async function insertExecutionIfActive(db: Db, e: InsertExecution): Promise<{ gate: SiteGate; row: ExecutionRow | null }> {
  const { rows } = await db.query<ExecutionRow & { siteRole: string; siteActiveUrl: string | null }>({
    name: 'tandem.insertExecutionIfActive',
    text: `with site as (select role, active_url from tandem_site.site for share),
           gate as (select coalesce((select role from site), 'active') as role, (select active_url from site) as active_url),
           e as (
             insert into tandem.executions (id, project_id, job_id, job_name, job_group, definition, options, trigger, user_name,
               member, exclusive, attempt, retry_of, scheduled_time, status, started_at, user_roles)
             select coalesce($14::uuid, gen_random_uuid()), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
               case when $14::uuid is null then 'queued' else 'running' end, case when $14::uuid is null then null else now() end,
               $17::text[]
             from gate where gate.role = 'active'
             returning *),
           l as (
             insert into tandem.log_objects (execution_id, store, key, size, complete)
             select id, $15, $16, 0, false from e where $14::uuid is not null
             returning *)
           select gate.role as "siteRole", gate.active_url as "siteActiveUrl", x.*
           from gate left join (
             select ${executionColumns} from e join tandem.projects p on p.id = e.project_id left join l on l.execution_id = e.id
           ) x on true`,
    values: insertValues(e),
  });
  const r = rows[0]!;
  const { siteRole, siteActiveUrl, ...row } = r;
  return { gate: { role: siteRole, activeUrl: siteActiveUrl }, row: row.id ? (row as ExecutionRow) : null };
}
