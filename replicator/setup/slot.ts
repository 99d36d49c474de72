/** The replication slot on the source: is it there, is it usable, how much WAL does it hold back. */
import type pg from 'pg';
import { parseLsn, type Lsn } from '../lsn.js';

export interface SlotInfo {
  name: string;
  plugin: string | null;
  active: boolean;
  activePid: number | null;
  /** reserved / extended / unreserved / lost (null on a slot never used). */
  walStatus: string | null;
  retainedBytes: number | null;
  confirmedFlush: Lsn | null;
  /** Bytes of WAL written on the source after the slot's confirmed position. */
  lagBytes: number | null;
  database: string | null;
}

export async function slotInfo(client: pg.ClientBase, slot: string): Promise<SlotInfo | null> {
  const res = await client.query<{
    plugin: string | null;
    active: boolean;
    active_pid: number | null;
    wal_status: string | null;
    retained: string | null;
    confirmed: string | null;
    lag: string | null;
    database: string | null;
  }>({
    name: 'tandem.replicationSlotInfo',
    text: `select plugin::text, active, active_pid, wal_status,
                  pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::text as retained,
                  confirmed_flush_lsn::text as confirmed,
                  greatest(pg_wal_lsn_diff(pg_current_wal_flush_lsn(), confirmed_flush_lsn), 0)::text as lag,
                  database::text
             from pg_replication_slots where slot_name = $1`,
    values: [slot],
  });
  const r = res.rows[0];
  if (!r) return null;
  return {
    name: slot,
    plugin: r.plugin,
    active: r.active,
    activePid: r.active_pid,
    walStatus: r.wal_status,
    retainedBytes: r.retained === null ? null : Number(r.retained),
    confirmedFlush: r.confirmed ? parseLsn(r.confirmed) : null,
    lagBytes: r.lag === null ? null : Number(r.lag),
    database: r.database,
  };
}

export async function dropSlot(client: pg.ClientBase, slot: string): Promise<void> {
  await client.query({ name: 'tandem.dropReplicationSlot', text: 'select pg_drop_replication_slot($1)', values: [slot] });
}
