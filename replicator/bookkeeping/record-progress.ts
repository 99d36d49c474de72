import { formatLsn, type Lsn } from '../lsn.js';

const text = `
update tandem_site.replication_progress
   set source_commit_lsn = $2::pg_lsn, source_end_lsn = $3::pg_lsn,
       source_commit_time = $4::timestamptz, applied_txns = applied_txns + $5::bigint, updated_at = now()
 where slot_name = $1`;

/**
 * Record, inside the open target transaction, the last source transaction it
 * contains (`count` source transactions in all). Committing that target
 * transaction makes the changes and this record durable together.
 * When changing this, read replicator/docs/durability-order.md.
 */
/** The same, as a statement for the applier's pipeline (sent with the group's last changes). */
export function recordProgressStatement(
  slot: string,
  commitLsn: Lsn,
  endLsn: Lsn,
  commitTime: string,
  count: number,
): { name: string; text: string; values: (string | null)[] } {
  return {
    name: 'tandem_site.recordReplicationProgress',
    text,
    values: [slot, formatLsn(commitLsn), formatLsn(endLsn), commitTime, String(count)],
  };
}
