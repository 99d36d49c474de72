import type { Db } from '../../db/db.js';

export interface LocalReplication {
  /** End LSN of the last source transaction applied here. */
  appliedLsn: string;
  /** Source commit time of that transaction. */
  lastCommitTime: Date | null;
  /** Seconds since that commit (an upper bound of the lag: an idle source also makes it grow). */
  secondsSinceLastCommit: number | null;
  state: string | null;
  /** The replication slot at the source that feeds this site (matches the source's pg_replication_slots). */
  slot: string;
  /** The last error the replicator recorded (kept after it recovered, with its time), or null. */
  lastError: { message: string; at: string | null } | null;
}

/**
 * What this (passive) site's database says about the replication into it,
 * read from the replicator's bookkeeping (null when it never replicated).
 */
export async function localReplication(db: Db): Promise<LocalReplication | null> {
  const has = await db.query<{ ok: boolean }>({
    name: 'tandem_site.replicationTablesPresent',
    text: `select to_regclass('tandem_site.replication_progress') is not null and to_regclass('tandem_site.replication_state') is not null as ok`,
  });
  if (!has.rows[0]?.ok) return null;
  const { rows } = await db.query<{ lsn: string; commit_time: Date | null; age: number | null; state: string | null; slot: string; err: string | null; err_at: string | null }>({
    name: 'tandem_site.localReplication',
    text: `select p.source_end_lsn::text as lsn, p.source_commit_time as commit_time,
                  extract(epoch from now() - p.source_commit_time)::float8 as age, s.state, p.slot_name::text as slot,
                  s.last_error->>'message' as err, s.last_error->>'at' as err_at
             from tandem_site.replication_progress p left join tandem_site.replication_state s using (slot_name)
            order by p.updated_at desc limit 1`,
  });
  const r = rows[0];
  if (!r) return null;
  return {
    appliedLsn: r.lsn, lastCommitTime: r.commit_time, secondsSinceLastCommit: r.age === null ? null : Math.max(0, r.age), state: r.state, slot: r.slot,
    lastError: r.err === null ? null : { message: r.err, at: r.err_at },
  };
}
