/**
 * The replicator's metrics: one registry for the process. The apply loop and
 * the run loop report through the narrow interfaces below; the slot, lag and
 * object-copy figures are read from the databases at scrape time (probe.ts),
 * so they are right even while the stream is reconnecting.
 */
import client from 'prom-client';
import { createRegistry, LATENCY_BUCKETS, type Registry } from '../../server/metrics/registry.js';
import type { Probe, ProbeReading } from './probe.js';

/** What the apply loop reports after each target commit. */
export interface ApplyMetrics {
  /**
   * A target transaction committed: `txns` source transactions, rows applied
   * per table (`schema.table`), `seconds` from its begin to its commit, and
   * the source commit time of the last source transaction in it.
   */
  committed(txns: number, rowsByTable: ReadonlyMap<string, number>, seconds: number, lastCommitTime: Date): void;
}

/** What the run loop reports. */
export interface RunMetrics extends ApplyMetrics {
  /** The stream failed with a connection error and is reconnecting. */
  reconnecting(): void;
  /** Replication stopped on an error (or a connection attempt failed): records its time. */
  failed(): void;
  /** A streaming session began (true) or ended (false). */
  streaming(on: boolean): void;
}

const WAL_STATUSES = ['reserved', 'extended', 'unreserved', 'lost'];

export class ReplicatorMetrics implements RunMetrics {
  readonly registry: Registry;
  private readonly txns: client.Counter;
  private readonly rows: client.Counter<'table'>;
  private readonly applyDuration: client.Histogram;
  private readonly lastCommit: client.Gauge;
  private readonly reconnects: client.Counter;
  private readonly lastError: client.Gauge;
  private readonly streamingGauge: client.Gauge;
  private probe: Probe | null = null;

  /** `slot` is a default label of every series (bounded: one per passive site). */
  constructor(o: { slot: string }) {
    const registry = (this.registry = createRegistry({ slot: o.slot }));
    this.txns = new client.Counter({ name: 'tandem_replicator_applied_transactions_total', help: 'Source transactions applied (committed) on the target.', registers: [registry] });
    this.rows = new client.Counter({
      name: 'tandem_replicator_applied_rows_total',
      help: 'Row changes (insert, update, delete) applied on the target, by table.',
      labelNames: ['table'],
      registers: [registry],
    });
    this.applyDuration = new client.Histogram({
      name: 'tandem_replicator_apply_duration_seconds',
      help: 'Time of one target transaction (one or more grouped source transactions), from its begin to its commit.',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
    this.lastCommit = new client.Gauge({
      name: 'tandem_replicator_last_applied_commit_timestamp_seconds',
      help: 'Source commit time of the last source transaction applied on the target (Unix seconds).',
      registers: [registry],
    });
    this.reconnects = new client.Counter({ name: 'tandem_replicator_reconnects_total', help: 'Times the replication stream failed and was reconnected.', registers: [registry] });
    this.lastError = new client.Gauge({ name: 'tandem_replicator_last_error_timestamp_seconds', help: 'Time of the last replication error (Unix seconds; 0: none since start).', registers: [registry] });
    this.streamingGauge = new client.Gauge({ name: 'tandem_replicator_streaming', help: 'Whether a replication session is streaming now.', registers: [registry] });

    const m = this;
    const probed = <L extends string>(name: string, help: string, labelNames: L[], fill: (g: client.Gauge<L>, r: ProbeReading) => void) =>
      new client.Gauge<L>({
        name,
        help,
        labelNames,
        registers: [registry],
        async collect() {
          this.reset();
          if (m.probe) fill(this, await m.probe.read());
        },
      });
    const set = (g: client.Gauge, v: number | null) => v !== null && g.set(v);
    probed('tandem_replicator_source_up', 'Whether the source database answered at the last scrape.', [], (g, r) => g.set(r.sourceUp ? 1 : 0));
    probed('tandem_replicator_target_up', 'Whether the target database answered at the last scrape.', [], (g, r) => g.set(r.targetUp ? 1 : 0));
    probed('tandem_replicator_lag_bytes', 'Source WAL not yet applied and confirmed by the target.', [], (g, r) => set(g, r.lagBytes));
    probed('tandem_replicator_lag_seconds', 'How far the target is behind the source in time (0 when everything is applied).', [], (g, r) => set(g, r.lagSeconds));
    probed('tandem_replicator_slot_retained_wal_bytes', 'WAL the source keeps for this slot.', [], (g, r) => set(g, r.retainedBytes));
    probed('tandem_replicator_slot_safe_wal_bytes', 'WAL the source may still write before the slot is lost (absent without max_slot_wal_keep_size).', [], (g, r) => set(g, r.safeWalBytes));
    probed('tandem_replicator_slot_exists', 'Whether the slot exists on the source.', [], (g, r) => r.sourceUp && g.set(r.slotExists ? 1 : 0));
    probed('tandem_replicator_slot_wal_status', 'wal_status of the slot (1 for the current one): reserved, extended, unreserved, lost.', ['wal_status'], (g, r) => {
      if (r.sourceUp && r.slotExists) for (const w of WAL_STATUSES) g.set({ wal_status: w }, r.walStatus === w ? 1 : 0);
    });
    probed('tandem_replicator_object_copy_backlog', 'Log object copies not done yet on this site (pending and failed).', [], (g, r) => set(g, r.copy?.backlog ?? null));
    probed('tandem_replicator_object_copy_oldest_pending_seconds', 'Age of the oldest log object copy not done yet (0 when none).', [], (g, r) => set(g, r.copy?.oldestSeconds ?? null));
    probed('tandem_replicator_object_copy_failed', 'Log object copies given up (checksum never matched).', [], (g, r) => set(g, r.copy?.failed ?? null));
    probed('tandem_replicator_object_copy_retrying', 'Log object copies pending after at least one failed attempt.', [], (g, r) => set(g, r.copy?.retrying ?? null));
  }

  /** Read slot, lag and object-copy figures from the databases at scrape time. */
  attach(probe: Probe): void {
    this.probe = probe;
  }

  committed(txns: number, rowsByTable: ReadonlyMap<string, number>, seconds: number, lastCommitTime: Date): void {
    this.txns.inc(txns);
    for (const [table, n] of rowsByTable) this.rows.inc({ table }, n);
    this.applyDuration.observe(seconds);
    this.lastCommit.set(lastCommitTime.getTime() / 1000);
  }

  reconnecting(): void {
    this.reconnects.inc();
    this.failed();
  }

  failed(): void {
    this.lastError.set(Date.now() / 1000);
  }

  streaming(on: boolean): void {
    this.streamingGauge.set(on ? 1 : 0);
  }
}
