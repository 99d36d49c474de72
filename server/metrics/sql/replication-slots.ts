import type { Db } from '../../db/db.js';

export interface SlotSample {
  slot: string;
  active: boolean;
  /** reserved / extended / unreserved / lost (null on a slot never used). */
  walStatus: string | null;
  /** WAL the slot keeps on this server (from its restart_lsn). */
  retainedBytes: number | null;
  /** WAL written and not yet confirmed by the slot's consumer. */
  lagBytes: number | null;
  /** WAL that may still be written before the slot is lost (null: no max_slot_wal_keep_size). */
  safeWalBytes: number | null;
}

/**
 * The logical replication slots of this database (on an active site: one per
 * passive site fed from here). Works on PostgreSQL 13+ (wal_status,
 * safe_wal_size) and returns no rows on a server in recovery.
 */
export async function replicationSlots(db: Db): Promise<SlotSample[]> {
  const { rows } = await db.query<{ slot: string; active: boolean; wal_status: string | null; retained: string | null; lag: string | null; safe: string | null }>({
    name: 'tandem_site.metricsReplicationSlots',
    text: `select slot_name::text as slot, active, wal_status,
                  pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text as retained,
                  greatest(pg_wal_lsn_diff(pg_current_wal_flush_lsn(), confirmed_flush_lsn), 0)::text as lag,
                  safe_wal_size::text as safe
             from pg_catalog.pg_replication_slots
            where slot_type = 'logical' and database = current_database() and not pg_is_in_recovery()
            order by slot_name`,
  });
  const num = (v: string | null) => (v === null ? null : Number(v));
  return rows.map((r) => ({ slot: r.slot, active: r.active, walStatus: r.wal_status, retainedBytes: num(r.retained), lagBytes: num(r.lag), safeWalBytes: num(r.safe) }));
}
