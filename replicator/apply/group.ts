/**
 * The group: one target transaction holding several whole source
 * transactions, its commit with the recorded position, and the
 * acknowledgement to the source that follows it. The Applier (applier.ts)
 * decides what goes in; this unit opens, commits or rolls back the target
 * transaction and moves the confirmed position.
 * When changing this, read replicator/docs/durability-order.md.
 */
import type pg from 'pg';
import type { Logger } from '../../server/log.js';
import { recordProgressStatement } from '../bookkeeping/record-progress.js';
import type { Lsn } from '../lsn.js';
import type { ApplyMetrics } from '../metrics/metrics.js';
import { PG_EPOCH_MS } from '../pg-epoch.js';
import type { ReplicationConnection } from '../stream/connection.js';
import type { CommitMessage } from '../stream/pgoutput.js';
import type { StatementQueue } from './statement-queue.js';

export function microsToTimestamp(us: bigint): string {
  const ms = us / 1000n;
  const rest = us % 1000n;
  const iso = new Date(Number(ms) + PG_EPOCH_MS).toISOString(); // ...sss Z
  return iso.slice(0, 23) + rest.toString().padStart(3, '0') + '+00';
}

export interface GroupOptions {
  target: pg.Client;
  stream: ReplicationConnection;
  slot: string;
  /** Where the group's statements wait for the target (the position record goes last). */
  statements: StatementQueue;
  log: Logger;
  /** End LSN of the last source transaction the target holds (from bookkeeping). */
  appliedEnd: Lsn;
  maxGroupTxns: number;
  maxGroupRows: number;
  maxGroupMs: number;
  metrics?: ApplyMetrics;
  onConfirmed?: (confirmed: Lsn, info: { appliedEnd: Lsn; commitTime: Date | null }) => void;
}

export class TargetGroup {
  /** A target transaction is open. */
  open = false;
  private txns = 0;
  private rows = 0;
  private started = 0;
  private last: CommitMessage | null = null;
  /** Rows of the open target transaction per table (for metrics), cleared with each group. */
  private readonly tables = new Map<string, number>();
  /** End LSN of the last source transaction committed on the target. */
  private end: Lsn;
  private lastCommitTime: Date | null = null;
  /** Source transactions committed on the target. */
  appliedTxns = 0;

  constructor(private readonly o: GroupOptions) {
    this.end = o.appliedEnd;
  }

  get position(): { appliedEnd: Lsn; commitTime: Date | null } {
    return { appliedEnd: this.end, commitTime: this.lastCommitTime };
  }

  /** End LSN of the last source transaction on the target: a source transaction committed before it is there already. */
  get appliedEnd(): Lsn {
    return this.end;
  }

  async begin(): Promise<void> {
    await this.o.target.query('begin');
    this.open = true;
    this.txns = 0;
    this.rows = 0;
    this.started = Date.now();
    this.last = null;
    this.tables.clear();
  }

  countRow(table: string): void {
    this.rows++;
    this.tables.set(table, (this.tables.get(table) ?? 0) + 1);
  }

  /** A source transaction of the group is complete (its statements may still be queued). */
  add(msg: CommitMessage): void {
    this.txns++;
    this.last = msg;
  }

  /** At its size or age limit: commit now. */
  get full(): boolean {
    return this.txns >= this.o.maxGroupTxns || this.rows >= this.o.maxGroupRows || Date.now() - this.started >= this.o.maxGroupMs;
  }

  /**
   * Record the position, commit, then acknowledge: the caller has queued
   * (or sent) every change of the group first.
   */
  async commit(): Promise<void> {
    const last = this.last;
    if (!last) {
      // An open transaction with no complete source transaction cannot happen between transactions; be safe.
      await this.o.target.query('rollback');
      this.open = false;
      this.o.statements.clear();
      return;
    }
    const rec = recordProgressStatement(this.o.slot, last.commitLsn, last.endLsn, microsToTimestamp(last.commitTimeMicros), this.txns);
    this.o.statements.push({ ...rec, expectRows: 1, kind: 'record progress', context: () => ({ table: 'tandem_site.replication_progress', change: 'update' }) });
    await this.o.statements.flush();
    await this.o.target.query('commit');
    this.open = false;
    this.appliedTxns += this.txns;
    this.end = last.endLsn;
    this.lastCommitTime = new Date(Number(last.commitTimeMicros / 1000n) + PG_EPOCH_MS);
    this.o.metrics?.committed(this.txns, this.tables, (Date.now() - this.started) / 1000, this.lastCommitTime);
    this.txns = 0;
    this.rows = 0;
    this.started = 0;
    this.last = null;
    // Only now, with the target transaction durable, may the source forget these transactions
    // (when changing this, read replicator/docs/durability-order.md).
    this.o.stream.confirm(last.endLsn);
    this.o.onConfirmed?.(this.o.stream.confirmed, this.position);
  }

  /**
   * A keepalive while nothing is open, queued or waiting: everything the
   * server sent is applied, so the slot may move to its position (lag reads 0 when idle).
   */
  confirmIdle(walEnd: Lsn): void {
    const { stream } = this.o;
    if (walEnd > stream.confirmed) stream.confirm(walEnd);
    this.o.onConfirmed?.(stream.confirmed, this.position);
  }

  /** Roll the open target transaction back (after a stop or an error): nothing of it is acknowledged. */
  async rollback(): Promise<void> {
    this.open = false;
    this.o.statements.clear();
    await this.o.statements.settle().catch(() => undefined);
    await this.o.target.query('rollback').catch((e: Error) => this.o.log.debug('rollback after stop', { error: e }));
  }
}
