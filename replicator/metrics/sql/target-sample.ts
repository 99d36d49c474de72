import type pg from 'pg';

export interface TargetSample {
  /** Source commit time of the last applied transaction (null: nothing applied yet). */
  lastCommitTime: Date | null;
  /** Null when this site has no log-object copy table (migration 030 not applied). */
  copy: { backlog: number; failed: number; retrying: number; oldestSeconds: number } | null;
}

/** The target's bookkeeping and log-object copy backlog, in one round trip. */
export async function targetSample(db: pg.Pool, slot: string): Promise<TargetSample> {
  const has = await db.query<{ progress: boolean; copies: boolean }>({
    name: 'tandem_site.metricsTablesPresent',
    text: `select to_regclass('tandem_site.replication_progress') is not null as progress,
                  to_regclass('tandem_site.log_object_copies') is not null as copies`,
  });
  const present = has.rows[0]!;
  let lastCommitTime: Date | null = null;
  if (present.progress) {
    const p = await db.query<{ t: Date | null }>({
      name: 'tandem_site.metricsLastCommit',
      text: 'select source_commit_time as t from tandem_site.replication_progress where slot_name = $1',
      values: [slot],
    });
    lastCommitTime = p.rows[0]?.t ?? null;
  }
  if (!present.copies) return { lastCommitTime, copy: null };
  const c = await db.query<{ backlog: number; failed: number; retrying: number; oldest: number | null }>({
    name: 'tandem_site.metricsCopyBacklog',
    text: `select count(*) filter (where state <> 'done')::int as backlog,
                  count(*) filter (where state = 'failed')::int as failed,
                  count(*) filter (where state = 'pending' and last_error is not null)::int as retrying,
                  extract(epoch from now() - min(requested_at) filter (where state <> 'done'))::float8 as oldest
             from tandem_site.log_object_copies`,
  });
  const r = c.rows[0]!;
  return { lastCommitTime, copy: { backlog: r.backlog, failed: r.failed, retrying: r.retrying, oldestSeconds: Math.max(0, r.oldest ?? 0) } };
}
