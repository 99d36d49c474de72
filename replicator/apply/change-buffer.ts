/**
 * Changes waiting to become statements or COPYs, in source order per row.
 * The Applier (applier.ts) hands over each insert, update and delete of the
 * open group; this unit decides how it reaches the target and when it must
 * wait for the target first (when changing this, read
 * replicator/docs/set-based-apply.md).
 *
 * Two ways, chosen per table and change:
 * - Set-based: the changes of a table whose rows are independent of each
 *   other (`batchable`, relation.ts) are collected per table (batch.ts) and
 *   sent as one COPY of the inserts (under BATCH_COPY_MIN_ROWS: one insert
 *   statement) and one statement per table and column shape for the deletes
 *   and updates. A second change of a row already in a
 *   batch first turns every batch into statements, so the changes of one row
 *   keep their source order.
 * - In source order: other tables' changes (and an update that changes a
 *   GENERATED ALWAYS identity value) become one statement each, pipelined
 *   (statement-queue.ts); a run of inserts into one table goes through one
 *   COPY when it is long enough.
 * Both are bounded: a run or the batches are sent at the COPY batch size
 * (rows) or COPY_MAX_BYTES, whichever comes first.
 *
 * A COPY stays open while more rows of its table arrive (streaming-copy.ts):
 * the target stores each piece while the next is decoded; every other use of
 * the connection ends it first (StatementQueue). Each statement carries the
 * change it came from, so an error names its table, key and source
 * transaction; a COPY names the transaction of the failing line.
 */
import type pg from 'pg';
import { CopyRowInsert } from '../stream/copy-rows.js';
import type { Tuple } from '../stream/pgoutput.js';
import { batchDelete, batchInsert, batchUpdate, firstMissing, InsertRow, TableBatch, txnLsn, txnRange, type BatchRow, type RowChange, type TxnRef } from './batch.js';
import { copyBinaryRows, type Param } from './binary-values.js';
import { copyLine } from './copy-text.js';
import {
  deleteStatement,
  describeKey,
  identityChanged,
  insertStatement,
  updateStatement,
  valueText,
  writtenValues,
  type RelationEntry,
} from './relation.js';
import type { ErrorContext, StatementQueue } from './statement-queue.js';
import { StreamingCopy } from './streaming-copy.js';

export interface ChangeBufferOptions {
  target: pg.Client;
  /** Where the statements go (the Applier and the group queue theirs there too). */
  statements: StatementQueue;
  /** Send a run or the batches at this many rows. */
  copyBatchRows: number;
  /** No COPY runs (every insert its own statement); the Applier also marks every table not batchable. */
  rowByRow: boolean;
}

interface InsertRun {
  rel: RelationEntry;
  /** Inserts in source order, each with its transaction (runs may span the transactions of a group). */
  rows: BatchRow[];
  bytes: number;
}

/** Runs of at least this many inserts go through COPY (fewer: one INSERT each). */
const COPY_MIN_ROWS = 3;
/**
 * Set-based inserts go through COPY from this many rows; fewer travel as one `insert ... select from
 * unnest(...)` in the pipeline (batch.ts), so that a small streaming group reaches the target in one round
 * trip with its commit (a COPY is a round trip of its own: the server answers CopyInResponse before the data).
 */
const BATCH_COPY_MIN_ROWS = 100;
/**
 * Batches and COPY runs are flushed at 2,000 rows (copyBatchRows) or 2 MiB of values: rows held longer
 * survive young-generation collections and are promoted, which grew the heap with the transaction size
 * (5,000 rows / 8 MiB: 168 MB peak RSS for a 1,000,000-row transaction; replicator/docs/performance.md, "Memory").
 */
const COPY_MAX_BYTES = 2 * 1024 * 1024;

/** Bytes of a change's current values (for the size bound): a COPY row's bytes, or the lengths of its values. */
function bytesOf(change: RowChange): number {
  if (change instanceof CopyRowInsert) return change.end - change.start;
  let n = 0;
  for (const v of change.tag === 'delete' ? change.oldTuple : change.newTuple) if (v) n += v.length;
  return n;
}

/**
 * Whether a change may be applied set-based (replicator/docs/set-based-apply.md):
 * its table's rows are independent, and it writes no GENERATED ALWAYS identity
 * value (such an update is applied as a delete and an insert, relation.ts).
 */
function setBased(rel: RelationEntry, change: RowChange): boolean {
  return rel.batchable && (change.tag !== 'update' || !identityChanged(rel, change.oldTuple, change.oldKind, change.newTuple));
}

function addTo(batch: TableBatch, change: RowChange, txn: TxnRef | null): void {
  if (change.tag === 'insert') batch.addInsert(change, txn);
  else if (change.tag === 'update') batch.addUpdate(change.oldTuple, change.newTuple, txn);
  else batch.addDelete(change.oldTuple, txn);
}

export class ChangeBuffer {
  /** Runs of at least this many inserts go through COPY. */
  private readonly copyMinRows: number;
  /** The pending run of inserts of a table applied in source order. */
  private run: InsertRun | null = null;
  /** Set-based changes of the open group, per table (see batch.ts). */
  private batches = new Map<RelationEntry, TableBatch>();
  private batchRows = 0;
  private batchBytes = 0;
  /** The last COPY started; it takes more rows of its table while it is open. */
  private copy: StreamingCopy | null = null;

  constructor(private readonly o: ChangeBufferOptions) {
    this.copyMinRows = o.rowByRow ? Infinity : COPY_MIN_ROWS;
  }

  /**
   * Take a change of `rel` from source transaction `txn`: a promise only when
   * it had to wait for the target (most changes are only batched).
   */
  add(rel: RelationEntry, change: RowChange, txn: TxnRef | null): Promise<void> | undefined {
    if (!setBased(rel, change)) return this.addInOrder(rel, change, txn);
    const batch = this.batchNow(rel, change);
    if (batch) return this.addToBatch(batch, change, txn);
    return this.makeRoom(rel, change).then(() => this.addToBatch(this.batchNow(rel, change)!, change, txn));
  }

  /**
   * Apply a change now, after everything before it (an apply hook reads the
   * row it follows): queued, sent and checked before this resolves.
   */
  async applyNow(rel: RelationEntry, change: RowChange, txn: TxnRef | null): Promise<void> {
    await this.flush();
    this.queueChange(rel, change, txn);
    await this.o.statements.flush();
  }

  /** Turn everything waiting into queued statements and COPYs (sent with the next StatementQueue flush). */
  async flush(): Promise<void> {
    await this.drainBatches();
    await this.flushRun();
  }

  /** Forget everything waiting (its target transaction is rolled back). */
  clear(): void {
    this.run = null;
    this.batches.clear();
    this.batchRows = 0;
    this.batchBytes = 0;
    this.copy = null;
  }

  /** A change of a table applied in source order: inserts join the run, others are one statement each. */
  private async addInOrder(rel: RelationEntry, change: RowChange, txn: TxnRef | null): Promise<void> {
    await this.drainBatches();
    if (change.tag === 'insert' && rel.copyable) {
      if (this.run && this.run.rel !== rel) await this.flushRun();
      if (!this.run) this.run = { rel, rows: [], bytes: 0 };
      this.run.rows.push(new InsertRow(change, txn));
      this.run.bytes += bytesOf(change);
      if (this.run.rows.length >= this.o.copyBatchRows || this.run.bytes >= COPY_MAX_BYTES) await this.flushRun();
      return;
    }
    await this.flushRun();
    this.queueChange(rel, change, txn);
    if (this.o.statements.full) await this.o.statements.flush();
  }

  /** One statement for one change (error context captured with its transaction). */
  private queueChange(rel: RelationEntry, change: RowChange, txn: TxnRef | null): void {
    if (change.tag === 'insert') {
      this.queue(rel, 'insert', change.newTuple, insertStatement(rel), writtenValues(rel, change.newTuple), false, txn);
    } else if (change.tag === 'update') {
      // Without a key change there is no old tuple: the key is in the new one.
      const { stmt, values } = updateStatement(rel, change.oldTuple, change.oldKind, change.newTuple);
      this.queue(rel, 'update', change.oldTuple ?? change.newTuple, stmt, values, true, txn);
    } else {
      const { stmt, values } = deleteStatement(rel, change.oldTuple);
      this.queue(rel, 'delete', change.oldTuple, stmt, values, true, txn);
    }
  }

  /** The batch for a change of `rel` when it can take it right away (no wait for the target), else null. */
  private batchNow(rel: RelationEntry, change: RowChange): TableBatch | null {
    if (this.run) return null;
    let b = this.batches.get(rel);
    if (b && !b.free(change)) return null;
    if (!b) {
      b = new TableBatch(rel);
      this.batches.set(rel, b);
    }
    return b;
  }

  /**
   * Make batchNow(rel, change) possible: the pending run of another table's
   * inserts goes first (source order); a key already in the batch means a
   * second change of the same row: everything batched goes first, so the
   * changes of one row keep their source order.
   */
  private async makeRoom(rel: RelationEntry, change: RowChange): Promise<void> {
    if (this.run) await this.flushRun();
    if (!this.batchNow(rel, change)) await this.drainBatches();
  }

  /** Add a change to its batch and count it; bounded memory: drain at the COPY batch size. */
  private addToBatch(batch: TableBatch, change: RowChange, txn: TxnRef | null): Promise<void> | undefined {
    addTo(batch, change, txn);
    this.batchRows++;
    this.batchBytes += bytesOf(change);
    if (this.batchRows >= this.o.copyBatchRows || this.batchBytes >= COPY_MAX_BYTES || batch.size >= batch.rel.batchRowsLimit) return this.drainBatches();
    return undefined;
  }

  /** Apply the pending run of inserts: one INSERT each for short runs, one COPY for longer ones. */
  private async flushRun(): Promise<void> {
    const run = this.run;
    if (!run) return;
    this.run = null;
    if (run.rows.length < this.copyMinRows) {
      for (const r of run.rows) this.queue(run.rel, 'insert', r.tuple, insertStatement(run.rel), writtenValues(run.rel, r.tuple), false, r.txn);
      if (this.o.statements.full) await this.o.statements.flush();
      return;
    }
    await this.startCopy(run.rel, run.rows);
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
      } else if (b.deletes.length) {
        this.o.statements.joinByIndex(rel.keyIndexed);
        this.queueBatch(rel, 'delete', b.deletes, batchDelete(rel, b.deletes));
      }
      for (const u of b.updates.values()) {
        if (u.rows.length === 1) {
          const r = u.rows[0]!;
          const { stmt, values } = updateStatement(rel, r.keyTuple === r.tuple ? null : r.keyTuple, r.keyTuple === r.tuple ? null : 'key', r.tuple);
          this.queue(rel, 'update', r.keyTuple, stmt, values, true, r.txn);
        } else {
          this.o.statements.joinByIndex(rel.keyIndexed);
          this.queueBatch(rel, 'update', u.rows, batchUpdate(rel, u.setCols, u.rows));
        }
      }
      if (b.inserts.length >= BATCH_COPY_MIN_ROWS && rel.copyable) await this.startCopy(rel, b.inserts);
      else if (b.inserts.length > 1) this.queueBatch(rel, 'insert', b.inserts, batchInsert(rel, b.inserts));
      else for (const r of b.inserts) this.queue(rel, 'insert', r.tuple, insertStatement(rel), writtenValues(rel, r.tuple), false, r.txn);
    }
    if (this.o.statements.full) await this.o.statements.flush();
  }

  /**
   * Rows into `rel` through COPY: written into the COPY still open for `rel`
   * (streaming-copy.ts) when nothing queued must reach the target first, else
   * into a new COPY after everything before it. The target stores them while
   * the next rows are decoded; every other use of the connection ends the COPY
   * first (StatementQueue), so order and error reporting are kept.
   */
  private async startCopy(rel: RelationEntry, rows: BatchRow[]): Promise<void> {
    const { statements } = this.o;
    const cols = rel.allWritten ? undefined : rel.written;
    // Binary transfer: the values' bytes in COPY's binary format (binary-values.ts), else COPY's text format.
    const data = rel.anyBinary ? copyBinaryRows(rows.map((r) => r.copyRow ?? r.tuple), cols) : copyTextData(rows, cols);
    if (!this.copy?.takes(rel) || !statements.holdsOnlyCommitChecks) {
      await statements.flush(); // ends the open COPY, sends what is queued (waits for it unless it is only begin and record)
      this.copy = new StreamingCopy(rel, this.o.target, statements);
    }
    await this.copy.write(rows, data);
  }

  /**
   * A set-based statement. An update or delete must touch every row; the returned ordinals name the one
   * missing. An insert is not counted (it inserts every row or fails, and a duplicate key names itself).
   */
  private queueBatch(rel: RelationEntry, kind: 'insert' | 'update' | 'delete', rows: BatchRow[], stmt: { text: string; values: Param[] }): void {
    const first = rows[0]!.txn;
    const last = rows[rows.length - 1]!.txn;
    const context = () => ({ table: rel.table, change: `${kind} (one of ${rows.length} rows)`, commitLsn: txnRange(first, last).commitLsn });
    if (kind === 'insert') {
      // A duplicate key names its values ("Key (id)=(5) already exists."): the row, and so its transaction, is found by them.
      const failed = (e?: unknown) => {
        const detail = (e as { detail?: string })?.detail;
        const row = detail ? rows.find((r) => detail.includes(`)=(${keyText(rel, r.tuple)}) `)) : undefined;
        return row ? contextOf(rel, 'insert', row.tuple, row.txn) : context();
      };
      this.o.statements.push({ name: '', text: stmt.text, values: stmt.values, expectRows: null, kind, context: failed });
      return;
    }
    this.o.statements.push({
      name: '',
      text: stmt.text,
      values: stmt.values,
      expectRows: rows.length,
      kind,
      context,
      mismatch: (returned) => {
        const r = firstMissing(rows, returned) ?? rows[0]!;
        return contextOf(rel, kind, r.keyTuple, r.txn);
      },
    });
  }

  /** Add a statement to the pipeline; the error context is captured now, with its transaction. */
  private queue(rel: RelationEntry, kind: string, keyTuple: Tuple, stmt: { name: string; text: string }, values: Param[], mustMatch: boolean, txn: TxnRef | null): void {
    this.o.statements.push({
      name: stmt.name,
      text: stmt.text,
      values,
      expectRows: mustMatch ? 1 : null,
      kind,
      context: () => contextOf(rel, kind, keyTuple, txn),
    });
  }
}

function copyTextData(rows: BatchRow[], cols: number[] | undefined): Buffer {
  let text = '';
  for (const r of rows) text += copyLine(r.tuple, cols);
  return Buffer.from(text, 'utf8');
}

/** A row's key values as PostgreSQL prints them in a key's error detail ("Key (a, b)=(1, x) already exists."), in key column order. */
function keyText(rel: RelationEntry, tuple: Tuple): string {
  return rel.keyIndexes.map((i) => valueText(rel, i, tuple[i] as string)).join(', ');
}

/** What an error names: the table, the change, the row's key, the source transaction. */
function contextOf(rel: RelationEntry, change: string, tuple: Tuple | null, txn: TxnRef | null): ErrorContext {
  return { table: rel.table, change, key: tuple ? describeKey(rel, tuple) : undefined, commitLsn: txnLsn(txn), xid: txn?.xid };
}
