import type { Db } from '../../../server/db/db.js';

export interface CopyBacklog {
  /** Copies not done yet (pending + failed). */
  pending: number;
  failed: number;
  /** Age of the oldest copy not done, in ms (0 when none). */
  oldestPendingMs: number;
  /** Failed copies and pending ones that already failed at least once, most recent first (at most 20). */
  problems: Array<{ key: string; state: string; attempts: number; lastError: string | null }>;
}

/** What `tandem replication status` shows and what a planned switchover waits on (pending = 0). */
export async function copyBacklog(db: Db): Promise<CopyBacklog> {
  const a = await db.query<{ pending: number; failed: number; oldest_ms: number | null }>({
    name: 'tandem_site.copyBacklog',
    text: `select count(*) filter (where state <> 'done')::int as pending,
                  count(*) filter (where state = 'failed')::int as failed,
                  (extract(epoch from now() - min(requested_at) filter (where state <> 'done')) * 1000)::float8 as oldest_ms
             from tandem_site.log_object_copies`,
  });
  const p = await db.query<{ key: string; state: string; attempts: number; lastError: string | null }>({
    name: 'tandem_site.copyProblems',
    text: `select key, state, attempts, last_error as "lastError" from tandem_site.log_object_copies
            where state = 'failed' or (state = 'pending' and last_error is not null)
            order by updated_at desc limit 20`,
  });
  const row = a.rows[0]!;
  return { pending: row.pending, failed: row.failed, oldestPendingMs: Math.max(0, Math.round(row.oldest_ms ?? 0)), problems: p.rows };
}
