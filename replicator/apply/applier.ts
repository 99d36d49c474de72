/**
 * The apply loop: reads decoded messages from the replication connection in
 * order and applies them to the target as they stream, inside one open target
 * transaction (pgoutput protocol 1 sends a source transaction whole, at its
 * commit), so memory stays bounded whatever a source transaction's size.
 * When changing this, read replicator/docs/durability-order.md.
 *
 * Exactly once: each target transaction also records the commit LSN and end
 * LSN of the last source transaction it holds (bookkeeping/record-progress);
 * the source is told that end LSN only after the target committed; a source
 * transaction whose commit LSN is below the recorded end LSN is already on the
 * target and is skipped when it is delivered again.
 *
 * Throughput: several small source transactions that are already waiting are
 * grouped into one target transaction, each of them whole, so a reader never
 * sees part of one; a group is committed as soon as nothing more is waiting,
 * so lag stays low. Within a group, the changes of each table whose rows are
 * independent of each other (batch.ts) are applied set-based: inserts through
 * one COPY, deletes and updates as one statement per table and column shape.
 * Other tables' changes are applied in source order (runs of inserts through
 * COPY, statements pipelined).
 *
 * Errors stop: the target transaction is rolled back, nothing is acknowledged,
 * and the error names the change (table, key, commit LSN).
 *
 * The Applier decides what each message does; group.ts opens and commits the
 * target transaction and acknowledges it, statement-queue.ts sends the queued
 * statements and waits for a running COPY, batch.ts holds set-based batches.
 */
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { TandemError } from '../../server/errors.js';
import type { Logger } from '../../server/log.js';
import { recordSkipStatement } from '../bookkeeping/record-skip.js';
import { formatLsn, type Lsn } from '../lsn.js';
import type { ReplicationConnection } from '../stream/connection.js';
import type { ApplyMetrics } from '../metrics/metrics.js';
import type { BeginMessage, CommitMessage, DeleteMessage, InsertMessage, PgoutputMessage, RelationMessage, TruncateMessage, Tuple, UpdateMessage } from '../stream/pgoutput.js';
import { checkTargetTables } from '../setup/target.js';
import { changeFailed } from './apply-error.js';
import { copyLine } from './copy-text.js';
import type { ApplyHook, AppliedChange } from './hooks.js';
import { batchDelete, batchKey, batchUpdate, firstMissing, TableBatch, type BatchRow, type TxnRef } from './batch.js';
import { copyStatement, deleteStatement, describeKey, identityChanged, insertStatement, relationEntry, updateStatement, writtenValues, type RelationEntry } from './relation.js';
import { TargetGroup } from './group.js';
import { StatementQueue, type ErrorContext } from './statement-queue.js';
import { targetTableInfo } from './target-columns.js';

export interface ApplierOptions {
  target: pg.Client;
  stream: ReplicationConnection;
  slot: string;
  /** End LSN of the last source transaction the target holds (from bookkeeping). */
  appliedEnd: Lsn;
  hooks?: ApplyHook[];
  log: Logger;
  /** Called after every target commit and every confirmed keepalive position. */
  onConfirmed?: (confirmed: Lsn, info: { appliedEnd: Lsn; commitTime: Date | null }) => void;
  /** Group at most this many source transactions in one target transaction (default 2000). */
  maxGroupTxns?: number;
  maxGroupRows?: number;
  maxGroupMs?: number;
  /** Flush an insert run through COPY, and the set-based batches, at this many rows (default 2000). */
  copyBatchRows?: number;
  /** Counts applied transactions and rows per table, and times target transactions. */
  metrics?: ApplyMetrics;
  /**
   * Apply every change with its own statement (no set-based batches, no COPY
   * runs): the plain path PostgreSQL's apply worker also takes, for tests that
   * must cover both paths and for diagnosing the fast one. Default false.
   */
  rowByRow?: boolean;
  /**
   * Skip the source transaction with this commit LSN (`tandem replicate
   * --skip-transaction`): its changes are not applied; the target transaction
   * that records the progress past it also records the skip
   * (tandem_site.replication_skips). A transaction later than it arriving
   * first means no transaction has that LSN: the applier stops, skipping
   * nothing.
   */
  skipTransaction?: Lsn;
  /** Called once the skip is committed on the target. */
  onSkipped?: (info: { commitLsn: string; xid: number; changes: number }) => void;
}

interface InsertRun {
  rel: RelationEntry;
  /** Inserts in source order, each with its transaction (runs may span the transactions of a group). */
  rows: BatchRow[];
  bytes: number;
}

interface CurrentTxn {
  commitLsn: Lsn;
  xid: number;
  skipping: boolean;
  /** Skipped because the operator asked (skipTransaction), not because it is already applied. */
  operatorSkip?: { changes: number };
}

const COPY_MIN_ROWS = 3;
/**
 * Batches and COPY runs are flushed at 2,000 rows (copyBatchRows) or 2 MiB of values: rows held longer
 * survive young-generation collections and are promoted, which grew the heap with the transaction size
 * (5,000 rows / 8 MiB: 168 MB peak RSS for a 1,000,000-row transaction; replicator/docs/performance.md, "Memory").
 */
const COPY_MAX_BYTES = 2 * 1024 * 1024;

function lsnOf(txn: TxnRef | null): string | undefined {
  return txn ? formatLsn(txn.commitLsn) : undefined;
}

export class Applier {
  private readonly o: Required<Omit<ApplierOptions, 'onConfirmed' | 'hooks' | 'metrics' | 'rowByRow' | 'skipTransaction' | 'onSkipped'>> &
    Pick<ApplierOptions, 'onConfirmed' | 'metrics' | 'onSkipped'>;
  /** The transaction the operator asked to skip, until it is met. */
  private skipPending: Lsn | null;
  /** Runs of at least this many inserts go through COPY. */
  private readonly copyMinRows: number;
  private readonly rowByRow: boolean;
  private readonly relations = new Map<number, RelationEntry>();
  private readonly hooks = new Map<string, ApplyHook[]>();
  private txn: CurrentTxn | null = null;
  private run: InsertRun | null = null;
  /** Set-based changes of the open group, per table (see batch.ts). */
  private batches = new Map<RelationEntry, TableBatch>();
  private batchRows = 0;
  private batchBytes = 0;
  private stopped = false;
  /** Queued statements and the running COPY (statement-queue.ts). */
  private readonly statements: StatementQueue;
  /** The open target transaction, its commit and the acknowledgement (group.ts). */
  private readonly group: TargetGroup;

  constructor(opts: ApplierOptions) {
    this.o = {
      ...opts,
      maxGroupTxns: opts.maxGroupTxns ?? 2000,
      maxGroupRows: opts.maxGroupRows ?? 50_000,
      maxGroupMs: opts.maxGroupMs ?? 100,
      copyBatchRows: opts.copyBatchRows ?? 2000,
    } as typeof this.o;
    this.statements = new StatementQueue(opts.target);
    this.group = new TargetGroup({
      target: opts.target,
      stream: opts.stream,
      slot: opts.slot,
      statements: this.statements,
      log: opts.log,
      appliedEnd: opts.appliedEnd,
      maxGroupTxns: this.o.maxGroupTxns,
      maxGroupRows: this.o.maxGroupRows,
      maxGroupMs: this.o.maxGroupMs,
      metrics: opts.metrics,
      onConfirmed: opts.onConfirmed,
    });
    this.rowByRow = opts.rowByRow ?? false;
    this.skipPending = opts.skipTransaction ?? null;
    this.copyMinRows = this.rowByRow ? Infinity : COPY_MIN_ROWS;
    for (const h of opts.hooks ?? []) this.hooks.set(h.table, [...(this.hooks.get(h.table) ?? []), h]);
  }

  get position(): { appliedEnd: Lsn; commitTime: Date | null } {
    return this.group.position;
  }

  /** Source transactions applied (committed on the target) by this applier. */
  get appliedTxns(): number {
    return this.group.appliedTxns;
  }

  /** Stop after the current message; the open target transaction is rolled back. */
  stop(): void {
    this.stopped = true;
  }

  /** Apply until the stream fails or `stop()`; a change that cannot be applied throws (after rollback). */
  async runLoop(): Promise<void> {
    const { stream } = this.o;
    try {
      while (!this.stopped) {
        // Between source transactions with nothing waiting: make the group durable and acknowledge it now.
        if (this.group.open && !this.txn && stream.pending === 0) await this.commitGroup();
        // Messages already received are taken without a promise per message (most of them, when catching up).
        const item = stream.take() ?? (await stream.next());
        if (this.stopped) break;
        if (item.kind === 'keepalive') {
          if (this.group.open && !this.txn) await this.commitGroup();
          // Everything the server sent is applied: the slot may move to its position (lag reads 0 when idle).
          if (!this.txn && !this.group.open && stream.pending === 0) this.group.confirmIdle(item.walEnd);
          continue;
        }
        const applying = this.handle(item.msg);
        if (applying) await applying;
      }
    } finally {
      if (this.group.open) {
        this.run = null;
        this.batches.clear();
        await this.group.rollback();
      }
    }
  }

  /** Apply one message; a promise only when it had to wait for the target (most changes are only batched). */
  private handle(msg: PgoutputMessage): Promise<void> | undefined {
    if (this.txn?.operatorSkip && (msg.tag === 'insert' || msg.tag === 'update' || msg.tag === 'delete' || msg.tag === 'truncate')) this.txn.operatorSkip.changes++;
    switch (msg.tag) {
      case 'begin':
        return this.onBegin(msg);
      case 'commit':
        return this.onCommit(msg);
      case 'relation':
        return this.onRelation(msg);
      case 'insert':
        return this.txn?.skipping ? undefined : this.onInsert(msg);
      case 'update':
        return this.txn?.skipping ? undefined : this.onUpdate(msg);
      case 'delete':
        return this.txn?.skipping ? undefined : this.onDelete(msg);
      case 'truncate':
        return this.txn?.skipping ? undefined : this.onTruncate(msg);
      default:
        return; // origin, type, logical messages: nothing to apply
    }
  }

  private onBegin(msg: BeginMessage): Promise<void> | undefined {
    // Already on the target (delivered again after a crash or reconnect): skip it whole
    // (when changing this, read replicator/docs/lsn-handling.md).
    const skipping = msg.commitLsn < this.group.appliedEnd;
    if (!skipping && this.skipPending !== null) {
      if (msg.commitLsn === this.skipPending) {
        // The operator's skip: nothing of it is applied; the group records it (onCommit).
        this.txn = { commitLsn: msg.commitLsn, xid: msg.xid, skipping: true, operatorSkip: { changes: 0 } };
        this.o.log.warn('skipping a source transaction as the operator asked (--skip-transaction)', { commitLsn: formatLsn(msg.commitLsn), xid: msg.xid });
        return this.group.open ? undefined : this.group.begin();
      }
      if (msg.commitLsn > this.skipPending)
        throw new TandemError(
          'invalid_option',
          `no source transaction has commit LSN ${formatLsn(this.skipPending)}: the next one to apply has commit LSN ${formatLsn(msg.commitLsn)} ` +
            `(xid ${msg.xid}). Nothing was skipped; check the LSN in \`tandem replication status\``,
          { field: 'skip-transaction' },
        );
    }
    this.txn = { commitLsn: msg.commitLsn, xid: msg.xid, skipping };
    if (skipping) {
      this.o.log.debug('skipping a source transaction already applied', { commitLsn: formatLsn(msg.commitLsn), xid: msg.xid });
      return;
    }
    if (!this.group.open) return this.group.begin();
    return undefined;
  }

  private onCommit(msg: CommitMessage): Promise<void> | undefined {
    const txn = this.txn;
    this.txn = null;
    if (txn?.operatorSkip) return this.recordSkip(txn, msg);
    if (!txn || txn.skipping) return undefined;
    // Pending inserts and statements may continue into the next source transaction of the group:
    // the group commits as one target transaction, so each source transaction stays whole.
    this.group.add(msg);
    if (this.group.full) return this.commitGroup();
    return undefined;
  }

  /**
   * The operator's skip, committed like an applied transaction (progress moves
   * past it) with its audit row, in one target transaction of its own.
   */
  private async recordSkip(txn: CurrentTxn, msg: CommitMessage): Promise<void> {
    const changes = txn.operatorSkip!.changes;
    const lsn = formatLsn(txn.commitLsn);
    this.group.add(msg);
    this.statements.push({
      ...recordSkipStatement(this.o.slot, lsn, txn.xid, changes),
      expectRows: 1,
      kind: 'record skip',
      context: () => ({ table: 'tandem_site.replication_skips', change: 'insert', commitLsn: lsn, xid: txn.xid }),
    });
    await this.commitGroup();
    this.skipPending = null;
    this.o.log.warn('skipped a source transaction as the operator asked; its changes are not on this site', { commitLsn: lsn, xid: txn.xid, changes });
    this.o.onSkipped?.({ commitLsn: lsn, xid: txn.xid, changes });
  }

  /** Everything still batched goes to the target, then the group commits and is acknowledged (group.ts). */
  private async commitGroup(): Promise<void> {
    await this.drainBatches();
    await this.flushRun();
    await this.group.commit();
  }

  private async onRelation(msg: RelationMessage): Promise<void> {
    await this.drainBatches();
    await this.flushRun();
    await this.statements.flush();
    const prev = this.relations.get(msg.relationOid);
    const columns = msg.columns.map((c) => c.name);
    if (!prev || prev.columns.join('\0') !== columns.join('\0') || prev.table !== `${msg.schema}.${msg.name}`) {
      // A table first seen, or changed on the source: the target must have every column it now sends.
      await checkTargetTables(this.o.target, [{ schema: msg.schema, name: msg.name, columns }]);
    }
    // Identity and generated columns, unique indexes and triggers as the target defines them (the message does not say).
    const entry = relationEntry(msg, await targetTableInfo(this.o.target, msg.schema, msg.name));
    if (this.rowByRow) entry.batchable = false;
    this.relations.set(msg.relationOid, entry);
  }

  private rel(oid: number): RelationEntry {
    const r = this.relations.get(oid);
    if (!r) throw new TandemError('replication_apply', `change for unknown relation OID ${oid} (no relation message received)`);
    return r;
  }

  private context(rel: RelationEntry, change: string, tuple: Tuple | null): ErrorContext {
    return {
      table: rel.table,
      change,
      key: tuple ? describeKey(rel, tuple) : undefined,
      commitLsn: this.txn ? formatLsn(this.txn.commitLsn) : undefined,
      xid: this.txn?.xid,
    };
  }

  private onInsert(msg: InsertMessage): Promise<void> | undefined {
    const rel = this.rel(msg.relationOid);
    this.group.countRow(rel.table);
    const b = rel.batchable && !this.hooks.has(rel.table) ? this.batchNow(rel, batchKey(rel, msg.newTuple)) : null;
    if (b) {
      b.addInsert(msg.newTuple, this.txn);
      return this.batched(msg.newTuple);
    }
    return this.insertSlow(rel, msg);
  }

  private async insertSlow(rel: RelationEntry, msg: InsertMessage): Promise<void> {
    const hooks = this.hooks.get(rel.table);
    if (hooks) {
      await this.drainBatches();
      await this.flushRun();
      this.queue(rel, 'insert', msg.newTuple, insertStatement(rel), writtenValues(rel, msg.newTuple), false);
      await this.statements.flush();
      await this.callHooks(hooks, rel, 'insert', msg.newTuple, null);
      return;
    }
    if (rel.batchable) {
      const b = await this.batchFor(rel, [batchKey(rel, msg.newTuple)]);
      b.addInsert(msg.newTuple, this.txn);
      await this.batched(msg.newTuple);
      return;
    }
    await this.drainBatches();
    if (this.run && this.run.rel !== rel) await this.flushRun();
    if (!this.run) this.run = { rel, rows: [], bytes: 0 };
    this.run.rows.push({ keyTuple: msg.newTuple, tuple: msg.newTuple, txn: this.txn });
    for (const v of msg.newTuple) if (v) this.run.bytes += v.length;
    if (this.run.rows.length >= this.o.copyBatchRows || this.run.bytes >= COPY_MAX_BYTES) await this.flushRun();
  }

  /** Apply the pending run of inserts: one INSERT each for short runs, one COPY for longer ones. */
  private async flushRun(): Promise<void> {
    const run = this.run;
    if (!run) return;
    this.run = null;
    if (run.rows.length < this.copyMinRows) {
      for (const r of run.rows) this.queue(run.rel, 'insert', r.tuple, insertStatement(run.rel), writtenValues(run.rel, r.tuple), false, r.txn);
      if (this.statements.full) await this.statements.flush();
      return;
    }
    await this.startCopy(run.rel, run.rows);
  }

  /** One COPY of `tuples` into `rel`, left running while the next changes are decoded (StatementQueue.settle). */
  private async startCopy(rel: RelationEntry, rows: BatchRow[]): Promise<void> {
    await this.statements.flush(); // also waits for the previous COPY
    let text = '';
    const cols = rel.allWritten ? undefined : rel.written;
    for (const r of rows) text += copyLine(r.tuple, cols);
    const first = rows[0]!.txn;
    const last = rows[rows.length - 1]!.txn;
    // The failing line (PostgreSQL's error context "COPY t, line N") names the change; else the range of transactions.
    const context = (e: unknown): ErrorContext => {
      const line = /\bline (\d+)/.exec((e as { where?: string })?.where ?? '');
      const row = line ? rows[Number(line[1]) - 1] : undefined;
      if (row) return this.contextOf(rel, 'insert', row.tuple, row.txn);
      return { ...this.context(rel, `insert (one of ${rows.length} rows)`, null), commitLsn: first === last ? lsnOf(first) : `${lsnOf(first)} to ${lsnOf(last)}`, xid: first === last ? first?.xid : undefined };
    };
    const stream = this.o.target.query(copyStreams.from(copyStatement(rel)));
    // Not awaited here: the next rows are decoded while the target stores these. Every other use of
    // the target connection first waits for it (settle), so order and error reporting are kept.
    const done = new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
      stream.end(Buffer.from(text, 'utf8'));
    }).catch((e: unknown) => {
      throw changeFailed(e, context(e));
    });
    done.catch(() => undefined);
    this.statements.running(done);
  }

  private onUpdate(msg: UpdateMessage): Promise<void> | undefined {
    const rel = this.rel(msg.relationOid);
    this.group.countRow(rel.table);
    if (rel.batchable && !msg.oldTuple && !this.hooks.has(rel.table) && !identityChanged(rel, null, null, msg.newTuple)) {
      const b = this.batchNow(rel, batchKey(rel, msg.newTuple));
      if (b) {
        b.addUpdate(null, msg.newTuple, this.txn);
        return this.batched(msg.newTuple);
      }
    }
    return this.updateSlow(rel, msg);
  }

  private async updateSlow(rel: RelationEntry, msg: UpdateMessage): Promise<void> {
    const newTuple = msg.newTuple;
    if (rel.batchable && !this.hooks.has(rel.table) && !identityChanged(rel, msg.oldTuple, msg.oldKind, newTuple)) {
      const keys = [batchKey(rel, newTuple)];
      if (msg.oldTuple) keys.push(batchKey(rel, msg.oldTuple));
      const b = await this.batchFor(rel, keys);
      b.addUpdate(msg.oldTuple, newTuple, this.txn);
      await this.batched(newTuple);
      return;
    }
    await this.drainBatches();
    await this.flushRun();
    // Without a key change there is no old tuple: the key is in the new one.
    const oldTuple = msg.oldTuple ?? msg.newTuple;
    const { stmt, values } = updateStatement(rel, msg.oldTuple, msg.oldKind, newTuple);
    this.queue(rel, 'update', oldTuple, stmt, values, true);
    const hooks = this.hooks.get(rel.table);
    if (hooks) {
      await this.statements.flush();
      await this.callHooks(hooks, rel, 'update', newTuple, msg.oldTuple);
    } else if (this.statements.full) await this.statements.flush();
  }

  private onDelete(msg: DeleteMessage): Promise<void> | undefined {
    const rel = this.rel(msg.relationOid);
    this.group.countRow(rel.table);
    const b = rel.batchable && !this.hooks.has(rel.table) ? this.batchNow(rel, batchKey(rel, msg.oldTuple)) : null;
    if (b) {
      b.addDelete(msg.oldTuple, this.txn);
      return this.batched(msg.oldTuple);
    }
    return this.deleteSlow(rel, msg);
  }

  private async deleteSlow(rel: RelationEntry, msg: DeleteMessage): Promise<void> {
    if (rel.batchable && !this.hooks.has(rel.table)) {
      const b = await this.batchFor(rel, [batchKey(rel, msg.oldTuple)]);
      b.addDelete(msg.oldTuple, this.txn);
      await this.batched(msg.oldTuple);
      return;
    }
    await this.drainBatches();
    await this.flushRun();
    const { stmt, values } = deleteStatement(rel, msg.oldTuple);
    this.queue(rel, 'delete', msg.oldTuple, stmt, values, true);
    const hooks = this.hooks.get(rel.table);
    if (hooks) {
      await this.statements.flush();
      await this.callHooks(hooks, rel, 'delete', null, msg.oldTuple);
    } else if (this.statements.full) await this.statements.flush();
  }

  private async onTruncate(msg: TruncateMessage): Promise<void> {
    await this.drainBatches();
    await this.flushRun();
    await this.statements.flush();
    const rels = msg.relationOids.map((oid) => this.rel(oid));
    // RESTART IDENTITY is not applied: target sequences only move forward (see sequences/sync.ts).
    const sql = `truncate table ${rels.map((r) => r.qualified).join(', ')}${msg.cascade ? ' cascade' : ''}`;
    try {
      await this.o.target.query(sql);
    } catch (e) {
      throw changeFailed(e, { ...this.context(rels[0]!, 'truncate', null), table: rels.map((r) => r.table).join(', ') });
    }
  }

  /**
   * The batch for `rel`'s next change, whose row has `keys`. A key already in
   * the batch means a second change of the same row: everything batched goes
   * first, so the changes of one row keep their source order.
   */
  private async batchFor(rel: RelationEntry, keys: string[]): Promise<TableBatch> {
    if (this.run) await this.flushRun(); // inserts of other tables in source order, before
    let b = this.batches.get(rel);
    if (b && !b.free(keys)) {
      await this.drainBatches();
      b = undefined;
    }
    if (!b) {
      b = new TableBatch(rel);
      this.batches.set(rel, b);
    }
    return b;
  }

  /** The batch for a change of `rel` when it can take it right away (no wait for the target), else null. */
  private batchNow(rel: RelationEntry, key: string): TableBatch | null {
    if (this.run) return null;
    let b = this.batches.get(rel);
    if (b && !b.free([key])) return null;
    if (!b) {
      b = new TableBatch(rel);
      this.batches.set(rel, b);
    }
    return b;
  }

  /** Count a batched change; bounded memory: drain at the COPY batch size. */
  private batched(tuple: Tuple): Promise<void> | undefined {
    this.batchRows++;
    for (const v of tuple) if (v) this.batchBytes += v.length;
    if (this.batchRows >= this.o.copyBatchRows || this.batchBytes >= COPY_MAX_BYTES) return this.drainBatches();
    return undefined;
  }

  /** Turn the batches into statements (sent with the next pipeline) and COPYs; one-row shapes use the named statements. */
  private async drainBatches(): Promise<void> {
    if (!this.batches.size) return;
    const batches = [...this.batches.values()];
    this.batches.clear();
    this.batchRows = 0;
    this.batchBytes = 0;
    for (const b of batches) {
      const rel = b.rel;
      if (b.deletes.length === 1) {
        const r = b.deletes[0]!;
        const { stmt, values } = deleteStatement(rel, r.tuple);
        this.queue(rel, 'delete', r.tuple, stmt, values, true, r.txn);
      } else if (b.deletes.length) this.queueBatch(rel, 'delete', b.deletes, batchDelete(rel, b.deletes));
      for (const u of b.updates.values()) {
        if (u.rows.length === 1) {
          const r = u.rows[0]!;
          const { stmt, values } = updateStatement(rel, r.keyTuple === r.tuple ? null : r.keyTuple, r.keyTuple === r.tuple ? null : 'key', r.tuple);
          this.queue(rel, 'update', r.keyTuple, stmt, values, true, r.txn);
        } else this.queueBatch(rel, 'update', u.rows, batchUpdate(rel, u.setCols, u.rows));
      }
      if (b.inserts.length >= this.copyMinRows) await this.startCopy(rel, b.inserts);
      else for (const r of b.inserts) this.queue(rel, 'insert', r.tuple, insertStatement(rel), writtenValues(rel, r.tuple), false, r.txn);
    }
    if (this.statements.full) await this.statements.flush();
  }

  /** A set-based statement: it must touch every row; the returned ordinals name the one missing. */
  private queueBatch(rel: RelationEntry, kind: 'update' | 'delete', rows: BatchRow[], stmt: { text: string; values: string[] }): void {
    const first = rows[0]!.txn;
    const last = rows[rows.length - 1]!.txn;
    this.statements.push({
      name: '',
      text: stmt.text,
      values: stmt.values,
      expectRows: rows.length,
      kind,
      context: () => ({ table: rel.table, change: `${kind} (one of ${rows.length} rows)`, commitLsn: first === last ? lsnOf(first) : `${lsnOf(first)} to ${lsnOf(last)}` }),
      mismatch: (returned) => {
        const r = firstMissing(rows, returned) ?? rows[0]!;
        return this.contextOf(rel, kind, r.keyTuple, r.txn);
      },
    });
  }

  /** Add a statement to the pipeline; the error context is captured now, while its transaction is current. */
  private queue(
    rel: RelationEntry,
    kind: string,
    keyTuple: Tuple,
    stmt: { name: string; text: string },
    values: (string | null)[],
    mustMatch: boolean,
    from: string | TxnRef | null = this.txn,
  ): void {
    const txn = typeof from === 'string' ? this.txn : from;
    const lsn = typeof from === 'string' ? from : undefined;
    this.statements.push({
      name: stmt.name,
      text: stmt.text,
      values,
      expectRows: mustMatch ? 1 : null,
      kind,
      context: () => ({ ...this.contextOf(rel, kind, keyTuple, txn), ...(lsn ? { commitLsn: lsn } : {}) }),
    });
  }

  private contextOf(rel: RelationEntry, change: string, tuple: Tuple, txn: TxnRef | null): ErrorContext {
    return { table: rel.table, change, key: describeKey(rel, tuple), commitLsn: txn ? formatLsn(txn.commitLsn) : undefined, xid: txn?.xid };
  }

  private async callHooks(hooks: ApplyHook[], rel: RelationEntry, kind: AppliedChange['kind'], newTuple: Tuple | null, oldTuple: Tuple | null): Promise<void> {
    const toRow = (t: Tuple | null) => {
      if (!t) return null;
      const row: Record<string, string | null> = {};
      t.forEach((v, i) => v !== undefined && (row[rel.columns[i]!] = v));
      return row;
    };
    const change: AppliedChange = {
      kind,
      table: rel.table,
      newRow: toRow(newTuple),
      oldRow: toRow(oldTuple),
      commitLsn: this.txn ? formatLsn(this.txn.commitLsn) : '',
    };
    for (const h of hooks) {
      try {
        await h.onRow(this.o.target, change);
      } catch (e) {
        throw changeFailed(e, this.context(rel, `${kind} hook`, newTuple ?? oldTuple));
      }
    }
  }
}
