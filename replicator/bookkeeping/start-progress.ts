import type pg from 'pg';
import { formatLsn, type Lsn } from '../lsn.js';

const text = `
insert into tandem_site.replication_progress
       (slot_name, source_commit_lsn, source_end_lsn, source_commit_time, applied_txns, initial_sync_lsn, initial_sync_at)
values ($1, '0/0', $2::pg_lsn, null, 0, $2::pg_lsn, now())
on conflict (slot_name) do update
   set source_commit_lsn = '0/0', source_end_lsn = excluded.source_end_lsn, source_commit_time = null,
       applied_txns = 0, initial_sync_lsn = excluded.initial_sync_lsn, initial_sync_at = now(), updated_at = now()`;

/**
 * Inside the initial-copy transaction: the copy holds every source transaction
 * that committed before `consistentPoint`; streaming resumes there.
 */
export async function startProgress(client: pg.ClientBase, slot: string, consistentPoint: Lsn): Promise<void> {
  await client.query({ name: 'tandem_site.startReplicationProgress', text, values: [slot, formatLsn(consistentPoint)] });
}
