import type pg from 'pg';
import { parseLsn, type Lsn } from '../lsn.js';

export interface Progress {
  slot: string;
  commitLsn: Lsn;
  endLsn: Lsn;
  commitTime: Date | null;
  appliedTxns: bigint;
  initialSyncLsn: Lsn;
}

const text = `
select source_commit_lsn::text as commit_lsn, source_end_lsn::text as end_lsn, source_commit_time as commit_time,
       applied_txns::text as applied_txns, initial_sync_lsn::text as initial_sync_lsn
  from tandem_site.replication_progress where slot_name = $1
   for share`;

/**
 * The target's record of the last applied source transaction of `slot`, or null before the initial copy.
 * FOR SHARE waits for a transaction that is writing the record: the previous replicator's last group may
 * still be committing on the target after its replication connection (and so the slot) was released, as
 * when it was killed right after sending the commit; read before that commit, the position would be one
 * group behind what the target holds, and that group would be applied twice (its acknowledgement to the
 * source never went out). Called once the slot is free (session.ts). When changing this, read
 * replicator/docs/lsn-handling.md.
 */
export async function getProgress(client: pg.ClientBase, slot: string): Promise<Progress | null> {
  const res = await client.query<{ commit_lsn: string; end_lsn: string; commit_time: Date | null; applied_txns: string; initial_sync_lsn: string }>({
    name: 'tandem_site.getReplicationProgress',
    text,
    values: [slot],
  });
  const r = res.rows[0];
  if (!r) return null;
  return {
    slot,
    commitLsn: parseLsn(r.commit_lsn),
    endLsn: parseLsn(r.end_lsn),
    commitTime: r.commit_time,
    appliedTxns: BigInt(r.applied_txns),
    initialSyncLsn: parseLsn(r.initial_sync_lsn),
  };
}
