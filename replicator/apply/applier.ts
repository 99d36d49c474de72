/**
 * The apply loop: reads decoded messages from the replication connection in
 * order and applies them to the target as they stream, inside one open target
 * transaction (NOTES #8), so memory stays bounded whatever a source
 * transaction's size.
 *
 * Exactly once: each target transaction also records the commit LSN and end
 * LSN of the last source transaction it holds (bookkeeping/record-progress);
 * the source is told that end LSN only after the target committed; a source
 * transaction whose commit LSN is below the recorded end LSN is already on the
 * target and is skipped when it is delivered again.
 *
 * Throughput: consecutive inserts into one table go through one COPY; several
 * small source transactions that are already waiting are grouped into one
 * target transaction, each of them whole, so a reader never sees part of one.
 * A group is committed as soon as nothing more is waiting, so lag stays low.
 *
 * Errors stop: the target transaction is rolled back, nothing is acknowledged,
 * and the error names the change (table, key, commit LSN).
 */
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { TandemError } from '../../server/errors.js';
import type { Logger } from '../../server/log.js';
import { recordProgressStatement } from '../bookkeeping/record-progress.js';
import { formatLsn, type Lsn } from '../lsn.js';
import type { ReplicationConnection } from '../stream/connection.js';
import type { ApplyMetrics } from '../metrics/metrics.js';
import type { BeginMessage, CommitMessage, DeleteMessage, InsertMessage, PgoutputMessage, RelationMessage, TruncateMessage, Tuple, UpdateMessage } from '../stream/pgoutput.js';
import { checkTargetTables } from '../setup/target.js';
import { applyError } from './apply-error.js';
import { copyLine } from './copy-text.js';
import type { ApplyHook, AppliedChange } from './hooks.js';
import { runPipeline, type PipelineStatement } from './pipeline.js';
import { copyStatement, deleteStatement, describeKey, insertStatement, relationEntry, updateStatement, writtenValues, type RelationEntry } from './relation.js';
import { targetColumnInfo } from './target-columns.js';

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
  /** Flush an insert run through COPY at this many rows (default 5000). */
  copyBatchRows?: number;
  /** Counts applied transactions and rows per table, and times target transactions. */
  metrics?: ApplyMetrics;
}

interface InsertRun {
  rel: RelationEntry;
  tuples: Tuple[];
  bytes: number;
  /** Commit LSN of the first source transaction in the run (runs may span the transactions of a group). */
  firstLsn: string | undefined;
}

type ErrorContext = { table: string; change: string; key?: Record<string, string | null>; commitLsn?: string; xid?: number };

interface Pending extends PipelineStatement {
  /** UPDATE and DELETE must change exactly one row. */
  mustMatch: boolean;
  kind: string;
  context: () => ErrorContext;
}

/** Statements sent per round trip at most. */
const PIPELINE_MAX = 1000;

interface CurrentTxn {
  commitLsn: Lsn;
  xid: number;
  skipping: boolean;
}

const COPY_MIN_ROWS = 3;
const COPY_MAX_BYTES = 8 * 1024 * 1024;

export function microsToTimestamp(us: bigint): string {
  const ms = us / 1000n;
  const rest = us % 1000n;
  const iso = new Date(Number(ms) + 946_684_800_000).toISOString(); // ...sss Z
  return iso.slice(0, 23) + rest.toString().padStart(3, '0') + '+00';
}

export class Applier {
  private readonly o: Required<Omit<ApplierOptions, 'onConfirmed' | 'hooks' | 'metrics'>> & Pick<ApplierOptions, 'onConfirmed' | 'metrics'>;
  private readonly relations = new Map<number, RelationEntry>();
  private readonly hooks = new Map<string, ApplyHook[]>();
  private appliedEnd: Lsn;
  private lastCommitTime: Date | null = null;
  private txn: CurrentTxn | null = null;
  private targetOpen = false;
  private group = { txns: 0, rows: 0, started: 0, last: null as CommitMessage | null };
  private run: InsertRun | null = null;
  private pending: Pending[] = [];
  /** A COPY still running on the target while the next rows are decoded. */
  private inflight: Promise<void> | null = null;
  /** Rows of the open target transaction per table (for metrics), cleared with each group. */
  private groupTables = new Map<string, number>();
  private stopped = false;
  /** Source transactions applied (committed on the target) by this applier. */
  appliedTxns = 0;
  skippedTxns = 0;

  constructor(opts: ApplierOptions) {
    this.o = {
      ...opts,
      maxGroupTxns: opts.maxGroupTxns ?? 2000,
      maxGroupRows: opts.maxGroupRows ?? 50_000,
      maxGroupMs: opts.maxGroupMs ?? 100,
      copyBatchRows: opts.copyBatchRows ?? 5000,
    } as typeof this.o;
    this.appliedEnd = opts.appliedEnd;
    for (const h of opts.hooks ?? []) this.hooks.set(h.table, [...(this.hooks.get(h.table) ?? []), h]);
  }

  get position(): { appliedEnd: Lsn; commitTime: Date | null } {
    return { appliedEnd: this.appliedEnd, commitTime: this.lastCommitTime };
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
        if (this.targetOpen && !this.txn && stream.pending === 0) await this.commitGroup();
        const item = await stream.next();
        if (this.stopped) break;
        if (item.kind === 'keepalive') {
          if (this.targetOpen && !this.txn) await this.commitGroup();
          // Everything the server sent is applied: the slot may move to its position (lag reads 0 when idle).
          if (!this.txn && !this.targetOpen && stream.pending === 0) {
            if (item.walEnd > stream.confirmed) stream.confirm(item.walEnd);
            this.o.onConfirmed?.(stream.confirmed, this.position);
          }
          continue;
        }
        await this.handle(item.msg);
      }
    } finally {
      if (this.targetOpen) {
        this.targetOpen = false;
        this.run = null;
        this.pending = [];
        await this.settle().catch(() => undefined);
        await this.o.target.query('rollback').catch((e: Error) => this.o.log.debug('rollback after stop', { error: e }));
      }
    }
  }

  private async handle(msg: PgoutputMessage): Promise<void> {
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

  private async onBegin(msg: BeginMessage): Promise<void> {
    // Already on the target (delivered again after a crash or reconnect): skip it whole.
    const skipping = msg.commitLsn < this.appliedEnd;
    this.txn = { commitLsn: msg.commitLsn, xid: msg.xid, skipping };
    if (skipping) {
      this.skippedTxns++;
      this.o.log.debug('skipping a source transaction already applied', { commitLsn: formatLsn(msg.commitLsn), xid: msg.xid });
      return;
    }
    if (!this.targetOpen) {
      await this.o.target.query('begin');
      this.targetOpen = true;
      this.group = { txns: 0, rows: 0, started: Date.now(), last: null };
      this.groupTables.clear();
    }
  }

  private async onCommit(msg: CommitMessage): Promise<void> {
    const txn = this.txn;
    this.txn = null;
    if (!txn || txn.skipping) return;
    // Pending inserts and statements may continue into the next source transaction of the group:
    // the group commits as one target transaction, so each source transaction stays whole.
    this.group.txns++;
    this.group.last = msg;
    const g = this.group;
    if (g.txns >= this.o.maxGroupTxns || g.rows >= this.o.maxGroupRows || Date.now() - g.started >= this.o.maxGroupMs) await this.commitGroup();
  }

  private async commitGroup(): Promise<void> {
    await this.flushRun();
    const last = this.group.last;
    if (!last) {
      // An open transaction with no complete source transaction cannot happen between transactions; be safe.
      await this.o.target.query('rollback');
      this.targetOpen = false;
      this.pending = [];
      return;
    }
    const rec = recordProgressStatement(this.o.slot, last.commitLsn, last.endLsn, microsToTimestamp(last.commitTimeMicros), this.group.txns);
    this.pending.push({ ...rec, mustMatch: true, kind: 'record progress', context: () => ({ table: 'tandem_site.replication_progress', change: 'update' }) });
    await this.flushPipeline();
    await this.o.target.query('commit');
    this.targetOpen = false;
    this.appliedTxns += this.group.txns;
    this.appliedEnd = last.endLsn;
    this.lastCommitTime = new Date(Number(last.commitTimeMicros / 1000n) + 946_684_800_000);
    this.o.metrics?.committed(this.group.txns, this.groupTables, (Date.now() - this.group.started) / 1000, this.lastCommitTime);
    this.group = { txns: 0, rows: 0, started: 0, last: null };
    // Only now, with the target transaction durable, may the source forget these transactions.
    this.o.stream.confirm(last.endLsn);
    this.o.onConfirmed?.(this.o.stream.confirmed, this.position);
  }

  private async onRelation(msg: RelationMessage): Promise<void> {
    await this.flushRun();
    await this.flushPipeline();
    const prev = this.relations.get(msg.relationOid);
    const columns = msg.columns.map((c) => c.name);
    if (!prev || prev.columns.join('\0') !== columns.join('\0') || prev.table !== `${msg.schema}.${msg.name}`) {
      // A table first seen, or changed on the source: the target must have every column it now sends.
      await checkTargetTables(this.o.target, [{ schema: msg.schema, name: msg.name, columns }]);
    }
    // Identity and generated columns as the target defines them (the message does not say).
    this.relations.set(msg.relationOid, relationEntry(msg, await targetColumnInfo(this.o.target, msg.schema, msg.name)));
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

  private async onInsert(msg: InsertMessage): Promise<void> {
    const rel = this.rel(msg.relationOid);
    this.countRow(rel.table);
    const hooks = this.hooks.get(rel.table);
    if (hooks) {
      await this.flushRun();
      this.queue(rel, 'insert', msg.newTuple, insertStatement(rel), writtenValues(rel, msg.newTuple), false);
      await this.flushPipeline();
      await this.callHooks(hooks, rel, 'insert', msg.newTuple, null);
      return;
    }
    if (this.run && this.run.rel !== rel) await this.flushRun();
    if (!this.run) this.run = { rel, tuples: [], bytes: 0, firstLsn: this.txn ? formatLsn(this.txn.commitLsn) : undefined };
    this.run.tuples.push(msg.newTuple);
    for (const v of msg.newTuple) if (v) this.run.bytes += v.length;
    if (this.run.tuples.length >= this.o.copyBatchRows || this.run.bytes >= COPY_MAX_BYTES) await this.flushRun();
  }

  private countRow(table: string): void {
    this.group.rows++;
    this.groupTables.set(table, (this.groupTables.get(table) ?? 0) + 1);
  }

  /** Apply the pending run of inserts: one INSERT each for short runs, one COPY for longer ones. */
  private async flushRun(): Promise<void> {
    const run = this.run;
    if (!run) return;
    this.run = null;
    if (run.tuples.length < COPY_MIN_ROWS) {
      for (const t of run.tuples) this.queue(run.rel, 'insert', t, insertStatement(run.rel), writtenValues(run.rel, t), false, run.firstLsn);
      if (this.pending.length >= PIPELINE_MAX) await this.flushPipeline();
      return;
    }
    await this.flushPipeline(); // also waits for the previous COPY
    let text = '';
    const cols = run.rel.allWritten ? undefined : run.rel.written;
    for (const t of run.tuples) text += copyLine(t, cols);
    const lastLsn = this.txn ? formatLsn(this.txn.commitLsn) : undefined;
    const commitLsn = run.firstLsn === lastLsn || !lastLsn ? run.firstLsn : `${run.firstLsn} to ${lastLsn}`;
    const context = { ...this.context(run.rel, `insert (one of ${run.tuples.length} rows)`, null), commitLsn };
    const stream = this.o.target.query(copyStreams.from(copyStatement(run.rel)));
    // Not awaited here: the next rows are decoded while the target stores these. Every other use of
    // the target connection first waits for it (settle), so order and error reporting are kept.
    const done = new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
      stream.end(Buffer.from(text, 'utf8'));
    }).catch((e: unknown) => {
      throw applyError(e, context);
    });
    done.catch(() => undefined);
    this.inflight = done;
  }

  private async settle(): Promise<void> {
    const p = this.inflight;
    if (!p) return;
    this.inflight = null;
    await p;
  }

  private async onUpdate(msg: UpdateMessage): Promise<void> {
    await this.flushRun();
    const rel = this.rel(msg.relationOid);
    this.countRow(rel.table);
    const newTuple = msg.newTuple;
    // Without a key change there is no old tuple: the key is in the new one.
    const oldTuple = msg.oldTuple ?? msg.newTuple;
    const { stmt, values } = updateStatement(rel, msg.oldTuple, msg.oldKind, newTuple);
    this.queue(rel, 'update', oldTuple, stmt, values, true);
    const hooks = this.hooks.get(rel.table);
    if (hooks) {
      await this.flushPipeline();
      await this.callHooks(hooks, rel, 'update', newTuple, msg.oldTuple);
    } else if (this.pending.length >= PIPELINE_MAX) await this.flushPipeline();
  }

  private async onDelete(msg: DeleteMessage): Promise<void> {
    await this.flushRun();
    const rel = this.rel(msg.relationOid);
    this.countRow(rel.table);
    const { stmt, values } = deleteStatement(rel, msg.oldTuple);
    this.queue(rel, 'delete', msg.oldTuple, stmt, values, true);
    const hooks = this.hooks.get(rel.table);
    if (hooks) {
      await this.flushPipeline();
      await this.callHooks(hooks, rel, 'delete', null, msg.oldTuple);
    } else if (this.pending.length >= PIPELINE_MAX) await this.flushPipeline();
  }

  private async onTruncate(msg: TruncateMessage): Promise<void> {
    await this.flushRun();
    await this.flushPipeline();
    const rels = msg.relationOids.map((oid) => this.rel(oid));
    // RESTART IDENTITY is not applied: target sequences only move forward (see sequences/sync.ts).
    const sql = `truncate table ${rels.map((r) => r.qualified).join(', ')}${msg.cascade ? ' cascade' : ''}`;
    try {
      await this.o.target.query(sql);
    } catch (e) {
      throw applyError(e, { ...this.context(rels[0]!, 'truncate', null), table: rels.map((r) => r.table).join(', ') });
    }
  }

  /** Add a statement to the pipeline; the error context is captured now, while its transaction is current. */
  private queue(rel: RelationEntry, kind: string, keyTuple: Tuple, stmt: { name: string; text: string }, values: (string | null)[], mustMatch: boolean, lsn?: string): void {
    const txn = this.txn;
    this.pending.push({
      name: stmt.name,
      text: stmt.text,
      values,
      mustMatch,
      kind,
      context: () => ({ ...this.contextOf(rel, kind, keyTuple, txn), ...(lsn ? { commitLsn: lsn } : {}) }),
    });
  }

  private contextOf(rel: RelationEntry, change: string, tuple: Tuple, txn: CurrentTxn | null): ErrorContext {
    return { table: rel.table, change, key: describeKey(rel, tuple), commitLsn: txn ? formatLsn(txn.commitLsn) : undefined, xid: txn?.xid };
  }

  /** Send the pending statements in one round trip; any failure or missing row names its change. */
  private async flushPipeline(): Promise<void> {
    await this.settle();
    const batch = this.pending;
    if (!batch.length) return;
    this.pending = [];
    const res = await runPipeline(this.o.target, batch);
    if (res.error) {
      const i = res.error.failedIndex ?? 0;
      const item = batch[i];
      if (!item || !('severity' in res.error)) throw res.error; // connection lost: retried by the runner
      throw applyError(res.error, item.context());
    }
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i]!;
      if (item.mustMatch && res.rowCounts[i] !== 1)
        throw applyError(new Error(`the row to ${item.kind} does not exist on the target`), item.context());
    }
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
        throw applyError(e, this.context(rel, `${kind} hook`, newTuple ?? oldTuple));
      }
    }
  }
}
