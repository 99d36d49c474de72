import type { Db } from '../../db/db.js';
import { executionColumns, executionFrom, type ExecutionRow, type ExecutionStatus } from './executions.js';

/**
 * What executions to list; every filter is optional. Tandem's API uses the
 * first ones, the Rundeck API (server/rundeck-api/) maps its query
 * parameters onto the rest. Job name and group patterns are matched as
 * literal substrings/prefixes (no user-supplied regular expressions).
 */
export interface ExecutionQuery {
  /** null: every project (Rundeck's `*`). */
  projectId: string | null;
  status?: ExecutionStatus;
  statuses?: ExecutionStatus[];
  jobId?: string;
  jobIds?: string[];
  excludeJobIds?: string[];
  userName?: string;
  abortedBy?: string;
  /** Job name contains. */
  jobNameContains?: string;
  jobNameExact?: string;
  /** Group path is this or below it ('' = top level only). */
  groupPrefix?: string;
  groupExact?: string;
  /** `group/name` pairs (name alone: top level). */
  jobFullNames?: string[];
  trigger?: 'user' | 'schedule';
  /** Ended (or, while not ended, created) at or after / before. */
  since?: Date;
  before?: Date;
  limit: number;
  offset: number;
  /** Count at most this many (a list's `total` on a table of millions must not count them all on every page). */
  countLimit?: number;
}

/** A project's executions, newest first. */
export async function listExecutions(db: Db, q: ExecutionQuery): Promise<{ rows: ExecutionRow[]; total: number }> {
  const statuses = q.statuses ?? (q.status ? [q.status] : null);
  const jobIds = q.jobIds ?? (q.jobId ? [q.jobId] : null);
  const where = `($1::uuid is null or e.project_id = $1)
    and ($2::text[] is null or e.status = any($2))
    and ($3::text[] is null or e.job_id = any($3))
    and ($4::text[] is null or e.job_id is null or not (e.job_id = any($4)))
    and ($5::text is null or e.user_name = $5)
    and ($6::text is null or e.abort_requested_by = $6)
    and ($7::text is null or strpos(lower(e.job_name), lower($7)) > 0)
    and ($8::text is null or e.job_name = $8)
    and ($9::text is null or ($9 = '' and e.job_group = '') or ($9 <> '' and (e.job_group = $9 or left(e.job_group, length($9) + 1) = $9 || '/')))
    and ($10::text is null or e.job_group = $10)
    and ($11::text[] is null or (case when e.job_group = '' then e.job_name else e.job_group || '/' || e.job_name end) = any($11))
    and ($12::text is null or e.trigger = $12 or ($12 = 'user' and e.trigger = 'retry'))
    and ($13::timestamptz is null or coalesce(e.ended_at, e.created_at) >= $13)
    and ($14::timestamptz is null or coalesce(e.ended_at, e.created_at) < $14)
    and ($14::timestamptz is null or e.created_at < $14)`;
  // The last line is implied by the one before (a run ends after it is created: both are the database's now()); it
  // is there for the planner, which can then start the newest-first index walk at the window's end instead of at the
  // newest row (a 1-day window 200 days back in 1,000,000 runs took 916 ms without it; its plan with it is still to be
  // checked with test/bench/ui-exec-explain.ts: sql/091_activity_indexes.sql).
  const values = [
    q.projectId,
    statuses,
    jobIds,
    q.excludeJobIds ?? null,
    q.userName ?? null,
    q.abortedBy ?? null,
    q.jobNameContains ?? null,
    q.jobNameExact ?? null,
    q.groupPrefix ?? null,
    q.groupExact ?? null,
    q.jobFullNames ?? null,
    q.trigger ?? null,
    q.since ?? null,
    q.before ?? null,
  ];
  const [list, count] = await Promise.all([
    db.query<ExecutionRow>({
      name: 'tandem.listExecutions',
      text: `select ${executionColumns} from ${executionFrom} where ${where} order by e.created_at desc, e.id limit $15 offset $16`,
      values: [...values, q.limit, q.offset],
    }),
    q.countLimit === undefined
      ? db.query<{ n: number }>({
          name: 'tandem.countExecutions',
          text: `select count(*)::int as n from tandem.executions e where ${where}`,
          values,
        })
      : db.query<{ n: number }>({
          name: 'tandem.countExecutionsCapped',
          text: `select count(*)::int as n from (select 1 from tandem.executions e where ${where} limit $15) c`,
          values: [...values, q.countLimit],
        }),
  ]);
  return { rows: list.rows, total: count.rows[0]!.n };
}
