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
import { formatLsn, type Lsn } from '../lsn.js';
import type { ApplyMetrics } from '../metrics/metrics.js';
import { PG_EPOCH_MS } from '../pg-epoch.js';
import type { ReplicationConnection } from '../stream/connection.js';
import type { CommitMessage } from '../stream/pgoutput.js';
import { BEGIN, type StatementQueue } from './statement-queue.js';

/** A pgoutput commit time (µs since 2000-01-01 UTC) as a timestamptz literal, to the microsecond. */
export function microsToTimestamp(us: number): string {
  const ms = Math.floor(us / 1000);
  const rest = us - ms * 1000; // 0..999, also before 2000
  const iso = new Date(ms + PG_EPOCH_MS).toISOString(); // ...sss Z
  return iso.slice(0, 23) + String(rest).padStart(3, '0') + '+00';
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
  /** The position record of the open group is queued (record()). */
  private recorded = false;
  /** Rows of the open target transaction per table (for metrics), a new map for each group. */
  private tables = new Map<string, number>();
  /** The previous group's commit while it is on its way to the target (see `committing`). */
  private inCommit: Promise<void> | null = null;
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

  /**
   * Open the group's target transaction. Nothing is sent yet: `begin` travels
   * with the group's first statements (or right before its first COPY), one
   * round trip fewer per group.
   */
  begin(): undefined {
    this.o.statements.push(BEGIN);
    this.open = true;
    this.recorded = false;
    this.txns = 0;
    this.rows = 0;
    this.started = Date.now();
    this.last = null;
    this.tables = new Map();
    return undefined;
  }

  /**
   * The previous group's commit while it is still on its way (resolves when
   * it returned, successfully or not; its failure is thrown by `settle`), or
   * null. While it runs the target is busy anyway: the applier goes on
   * grouping the source transactions that arrive meanwhile instead of
   * committing them one by one (the backlog signal; no fixed wait).
   */
  get committing(): Promise<void> | null {
    return this.inCommit;
  }

  /** Wait until the previous group's commit returned; throws its failure. */
  async settle(): Promise<void> {
    await this.o.statements.settle();
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
   * Queue the position record of the group as it stands (its last complete
   * source transaction): called by the applier before it sends the group's
   * last changes, so the record travels with them instead of in a round trip
   * of its own. Nothing may join the group afterwards; `commit` follows.
   */
  record(): void {
    const last = this.last;
    if (!last) return;
    const rec = recordProgressStatement(this.o.slot, last.commitLsn, last.endLsn, microsToTimestamp(last.commitTimeMicros), this.txns);
    this.o.statements.push({ ...rec, expectRows: 1, kind: 'record progress', checkAtCommit: true, context: () => ({ table: 'tandem_site.replication_progress', change: 'update' }) });
    this.recorded = true;
  }

  /**
   * Record the position, commit, then acknowledge: the caller has queued
   * (or sent) every change of the group first. The commit travels with the
   * group's last statements, their row counts checked on the target
   * (StatementQueue.sendWithCommit): one round trip per group. Where that is
   * not possible, every statement of the group is sent and checked first and
   * the commit follows on its own. Either way this returns once the commit
   * is sent: the next group is decoded while the target commits this one.
   * The acknowledgement waits for the commit's reply
   * (when changing this, read replicator/docs/durability-order.md).
   */
  async commit(): Promise<void> {
    const last = this.last;
    if (!last) {
      // An open transaction with no complete source transaction cannot happen between transactions; be safe.
      this.o.statements.clear();
      await this.o.statements.settle();
      await this.o.target.query('rollback');
      this.open = false;
      return;
    }
    if (!this.recorded) this.record();
    let reply = this.o.statements.sendWithCommit();
    if (!reply) {
      // Every statement of the group (and the previous group's commit) returned and was checked: only then is `commit` sent.
      await this.o.statements.flush();
      reply = this.o.statements.submit(() => this.o.target.query('commit')).then((res) => res.command);
    }
    const txns = this.txns;
    const tables = this.tables;
    const started = this.started;
    this.open = false;
    this.recorded = false;
    this.txns = 0;
    this.rows = 0;
    this.started = 0;
    this.last = null;
    const done = reply.then((command) => {
      // COMMIT of a transaction that failed answers ROLLBACK without an error: never acknowledge that.
      if (command !== 'COMMIT') throw new Error(`the target answered ${command} to the group's commit (source transactions up to commit LSN ${formatLsn(last.commitLsn)} not applied)`);
      this.appliedTxns += txns;
      this.end = last.endLsn;
      this.lastCommitTime = new Date(Math.floor(last.commitTimeMicros / 1000) + PG_EPOCH_MS);
      this.o.metrics?.committed(txns, tables, (Date.now() - started) / 1000, this.lastCommitTime);
      // Only now, with the target transaction durable, may the source forget these transactions
      // (when changing this, read replicator/docs/durability-order.md).
      this.o.stream.confirm(last.endLsn);
      this.o.onConfirmed?.(this.o.stream.confirmed, this.position);
    });
    this.o.statements.running(done);
    const committing: Promise<void> = done.then(
      () => undefined,
      () => undefined,
    );
    this.inCommit = committing;
    void committing.then(() => {
      if (this.inCommit === committing) this.inCommit = null;
    });
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
    this.recorded = false;
    this.o.statements.clear();
    // What was sent (the previous group's commit too) returns first; its failure was or will be reported by the
    // applier's own error, and nothing of a failed commit was acknowledged.
    await this.o.statements.settle().catch((e: Error) => this.o.log.debug('after stop: a statement sent before failed', { error: e }));
    await this.o.target.query('rollback').catch((e: Error) => this.o.log.debug('rollback after stop', { error: e }));
  }
}
