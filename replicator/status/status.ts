/**
 * What `tandem replication status` shows: the target's bookkeeping (state,
 * last applied source position, last error) combined, when the source is
 * reachable, with the slot's view (WAL retained, wal_status, lag).
 */
import pg from 'pg';
import { errorMessage } from '../../server/errors.js';
import type { ReplicationErrorInfo } from '../bookkeeping/set-state.js';
import type { ReplicatorState } from '../bookkeeping/states.js';
import { slotInfo } from '../setup/slot.js';
import { defaultSlotName } from '../slot-name.js';
import { SOURCE_SESSION_OPTIONS } from '../stream/connection.js';

export interface ReplicationStatus {
  slot: string;
  /** `never_started` when the target has no bookkeeping for this slot. */
  state: ReplicatorState | 'never_started';
  /** Whether a replicator is connected to the slot right now (null: source not reachable). */
  running: boolean | null;
  appliedLsn: string | null;
  commitTime: string | null;
  appliedTxns: number;
  lagBytes: number | null;
  lagSeconds: number | null;
  slotExists: boolean | null;
  walStatus: string | null;
  retainedWalBytes: number | null;
  lastError: ReplicationErrorInfo | null;
  updatedAt: string | null;
  /** Source transactions an operator skipped (`tandem replicate --skip-transaction`), oldest first. */
  skipped: SkippedTransaction[];
  /** Why the source part is missing. */
  sourceError?: string;
}

async function withClient<T>(url: string, options: string | undefined, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url, application_name: 'tandem-replication-status', options });
  // A connection lost between queries is reported by the next query; unhandled, node-pg's 'error' event would crash the process.
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

export interface SkippedTransaction {
  commitLsn: string;
  xid: number;
  changes: number;
  at: string;
  by: string;
  /** The error the replicator had stopped on, when it named this transaction. */
  error: string | null;
}

async function skippedRows(c: pg.Client, slot: string): Promise<SkippedTransaction[]> {
  const has = await c.query<{ ok: boolean }>(`select to_regclass('tandem_site.replication_skips') is not null as ok`);
  if (!has.rows[0]!.ok) return [];
  const res = await c.query<{ commit_lsn: string; xid: string; changes: string; skipped_at: Date; os_user: string | null; host: string | null; pid: number | null; error: string | null }>(
    `select commit_lsn::text, xid::text, changes::text, skipped_at, os_user, host, pid, last_error->>'message' as error
       from tandem_site.replication_skips where slot_name = $1 order by commit_lsn`,
    [slot],
  );
  return res.rows.map((r) => ({
    commitLsn: r.commit_lsn,
    xid: Number(r.xid),
    changes: Number(r.changes),
    at: r.skipped_at.toISOString(),
    by: `${r.os_user ?? '?'}@${r.host ?? '?'} (pid ${r.pid ?? '?'})`,
    error: r.error,
  }));
}

interface TargetRow {
  slot_name: string;
  state: ReplicatorState | null;
  last_error: ReplicationErrorInfo | null;
  updated_at: Date | null;
  end_lsn: string | null;
  commit_time: Date | null;
  applied_txns: string | null;
}

async function targetRows(c: pg.Client): Promise<TargetRow[]> {
  const has = await c.query<{ ok: boolean }>(`select to_regclass('tandem_site.replication_progress') is not null and to_regclass('tandem_site.replication_state') is not null as ok`);
  if (!has.rows[0]!.ok) return [];
  const res = await c.query<TargetRow>(
    `select coalesce(s.slot_name, p.slot_name) as slot_name, s.state, s.last_error, s.updated_at,
            p.source_end_lsn::text as end_lsn, p.source_commit_time as commit_time, p.applied_txns::text as applied_txns
       from tandem_site.replication_state s full join tandem_site.replication_progress p on p.slot_name = s.slot_name
      order by 1`,
  );
  return res.rows;
}

/** Last applied source position on the target (the failover command compares it with the source). */
export async function appliedPosition(targetUrl: string, slot?: string): Promise<{ lsn: string; commitTime: Date | null }> {
  return withClient(targetUrl, undefined, async (c) => {
    const rows = await targetRows(c);
    const row = slot ? rows.find((r) => r.slot_name === slot) : rows.length === 1 ? rows[0] : rows.find((r) => r.slot_name === defaultSlotName(targetUrl));
    return { lsn: row?.end_lsn ?? '0/0', commitTime: row?.commit_time ?? null };
  });
}

export async function replicationStatus(opts: { targetUrl: string; sourceUrl?: string; slot?: string }): Promise<ReplicationStatus> {
  let skipped: SkippedTransaction[] = [];
  const rows = await withClient(opts.targetUrl, undefined, async (c) => {
    const r = await targetRows(c);
    const name = opts.slot ?? (r.length === 1 ? r[0]!.slot_name : defaultSlotName(opts.targetUrl));
    skipped = await skippedRows(c, name);
    return r;
  });
  const slot = opts.slot ?? (rows.length === 1 ? rows[0]!.slot_name : defaultSlotName(opts.targetUrl));
  const row = rows.find((r) => r.slot_name === slot);
  const status: ReplicationStatus = {
    slot,
    state: row?.state ?? (row ? 'stopped' : 'never_started'),
    running: null,
    appliedLsn: row?.end_lsn ?? null,
    commitTime: row?.commit_time ? row.commit_time.toISOString() : null,
    appliedTxns: Number(row?.applied_txns ?? 0),
    lagBytes: null,
    lagSeconds: null,
    slotExists: null,
    walStatus: null,
    retainedWalBytes: null,
    lastError: row?.last_error ?? null,
    updatedAt: row?.updated_at ? row.updated_at.toISOString() : null,
    skipped,
  };
  if (!opts.sourceUrl) return status;
  try {
    await withClient(opts.sourceUrl, SOURCE_SESSION_OPTIONS, async (c) => {
      const info = await slotInfo(c, slot);
      status.slotExists = !!info;
      if (!info) return;
      status.running = info.active;
      status.walStatus = info.walStatus;
      status.retainedWalBytes = info.retainedBytes;
      status.lagBytes = info.lagBytes;
      // A replicator killed without a goodbye leaves "streaming" behind: the slot knows better.
      if (!info.active && (status.state === 'streaming' || status.state === 'initial_sync')) status.state = 'stopped';
      let lagSeconds: number | null = null;
      if (info.active && info.activePid !== null) {
        const r = await c.query<{ lag: number | null }>(
          'select extract(epoch from replay_lag)::float8 as lag from pg_stat_replication where pid = $1',
          [info.activePid],
        );
        // PostgreSQL clears replay_lag once the standby (us) has confirmed everything: idle means 0.
        lagSeconds = r.rows[0]?.lag ?? 0;
      }
      if (lagSeconds === null) {
        lagSeconds = !info.lagBytes ? 0 : row?.commit_time ? Math.max(0, (Date.now() - row.commit_time.getTime()) / 1000) : null;
      }
      if (info.lagBytes === 0) lagSeconds = 0;
      status.lagSeconds = lagSeconds;
    });
  } catch (e) {
    status.sourceError = errorMessage(e);
  }
  return status;
}
