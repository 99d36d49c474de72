import type pg from 'pg';

export interface SourceSlotSample {
  exists: boolean;
  active: boolean;
  walStatus: string | null;
  retainedBytes: number | null;
  safeWalBytes: number | null;
  lagBytes: number | null;
  /** pg_stat_replication.replay_lag of the slot's walsender (null: none connected, or nothing in flight). */
  replayLagSeconds: number | null;
}

/** The slot as the source sees it, with its walsender's replay lag, in one query. */
export async function sourceSlotSample(db: pg.Pool, slot: string): Promise<SourceSlotSample> {
  const { rows } = await db.query<{ active: boolean; wal_status: string | null; retained: string | null; safe: string | null; lag: string | null; replay: number | null }>({
    name: 'tandem.metricsSourceSlot',
    text: `select s.active, s.wal_status,
                  pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn)::text as retained,
                  s.safe_wal_size::text as safe,
                  greatest(pg_wal_lsn_diff(pg_current_wal_flush_lsn(), s.confirmed_flush_lsn), 0)::text as lag,
                  extract(epoch from r.replay_lag)::float8 as replay
             from pg_catalog.pg_replication_slots s
             left join pg_catalog.pg_stat_replication r on r.pid = s.active_pid
            where s.slot_name = $1`,
    values: [slot],
  });
  const r = rows[0];
  if (!r) return { exists: false, active: false, walStatus: null, retainedBytes: null, safeWalBytes: null, lagBytes: null, replayLagSeconds: null };
  const num = (v: string | null) => (v === null ? null : Number(v));
  return { exists: true, active: r.active, walStatus: r.wal_status, retainedBytes: num(r.retained), safeWalBytes: num(r.safe), lagBytes: num(r.lag), replayLagSeconds: r.replay };
}
