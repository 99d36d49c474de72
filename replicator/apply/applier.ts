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
 * so lag stays low. Within a group, changes wait in the change buffer, which
 * applies the changes of each table whose rows are independent of each other
 * set-based and other tables' changes in source order (change-buffer.ts).
 *
 * Errors stop: the target transaction is rolled back, nothing is acknowledged,
 * and the error names the change (table, key, commit LSN).
 *
 * The Applier decides what each message does (begin, commit, relation,
 * truncate, skips, apply hooks); change-buffer.ts turns the row changes into
 * statements and COPYs (set-based batches in batch.ts), statement-queue.ts
 * sends the queued statements and waits for a running COPY, group.ts opens
 * and commits the target transaction and acknowledges it.
 */
import type pg from 'pg';
import { TandemError } from '../../server/errors.js';
import type { Logger } from '../../server/log.js';
import { recordSkipStatement } from '../bookkeeping/record-skip.js';
import { formatLsn, type Lsn } from '../lsn.js';
import type { ReplicationConnection } from '../stream/connection.js';
import type { ApplyMetrics } from '../metrics/metrics.js';
import type { BeginMessage, CommitMessage, PgoutputMessage, RelationMessage, TruncateMessage, Tuple } from '../stream/pgoutput.js';
import { checkTargetTable } from '../setup/target.js';
import { changeFailed } from './apply-error.js';
import type { RowChange } from './batch.js';
import { ChangeBuffer } from './change-buffer.js';
import type { ApplyHook, AppliedChange } from './hooks.js';
import { describeKey, relationEntry, sourceTypeName, unnamedDifferingTypes, valueText, type RelationEntry } from './relation.js';
import { typeExists } from './type-properties.js';
import { TargetGroup } from './group.js';
import { StatementQueue, type ErrorContext } from './statement-queue.js';
import type { TargetTables } from './target-columns.js';

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
   * The stream was started with binary transfer (`binary 'true'`): values of
   * types with send and receive functions arrive and travel in binary
   * (binary-values.ts). Default false (the run decides: session.ts).
   */
  binary?: boolean;
  /** The target session has the row check function (row-check.ts): a group's commit travels with its last statements. */
  rowCheck?: boolean;
  /** The target session's catalog facts of the tables, read ahead by the session (target-columns.ts). */
  tables: TargetTables;
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

interface CurrentTxn {
  commitLsn: Lsn;
  xid: number;
  skipping: boolean;
  /** Skipped because the operator asked (skipTransaction), not because it is already applied. */
  operatorSkip?: { changes: number };
}

export class Applier {
  private readonly o: Required<Omit<ApplierOptions, 'onConfirmed' | 'hooks' | 'metrics' | 'rowByRow' | 'binary' | 'skipTransaction' | 'onSkipped'>> &
    Pick<ApplierOptions, 'onConfirmed' | 'metrics' | 'onSkipped'>;
  /** The transaction the operator asked to skip, until it is met. */
  private skipPending: Lsn | null;
  private readonly rowByRow: boolean;
  private readonly binary: boolean;
  private readonly relations = new Map<number, RelationEntry>();
  /**
   * The source's types by OID, for binary columns whose type differs on the target (relation.ts recvAs):
   * named by the stream's type messages, built-in ones from the target's catalog.
   */
  private readonly sourceTypeNames = new Map<number, string>();
  private readonly hooks = new Map<string, ApplyHook[]>();
  private txn: CurrentTxn | null = null;
  /** Changes waiting to become statements or COPYs (change-buffer.ts). */
  private readonly buffer: ChangeBuffer;
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
    this.statements = new StatementQueue(opts.target, opts.rowCheck ?? false);
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
    this.binary = opts.binary ?? false;
    this.skipPending = opts.skipTransaction ?? null;
    this.buffer = new ChangeBuffer({ target: opts.target, statements: this.statements, copyBatchRows: this.o.copyBatchRows, rowByRow: this.rowByRow });
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
        // Between source transactions with nothing waiting: make the group durable and acknowledge it now,
        // unless the previous group's commit is still running: then the stream has a backlog, and what arrives
        // meanwhile joins this group (grouping adapts to the load; when changing this, read replicator/docs/performance.md).
        if (this.group.open && !this.txn && stream.pending === 0) {
          const committing = this.group.committing;
          if (!committing) await this.commitGroup();
          else if (!(await Promise.race([stream.ready().then(() => true), committing.then(() => false)]))) continue;
        }
        // Messages already received are taken without a promise per message (most of them, when catching up).
        const item = stream.take() ?? (await stream.next());
        if (this.stopped) break;
        if (item.kind === 'keepalive') {
          // Not a reason to commit: the source sends one after nearly every transaction while the confirmed
          // position is behind (to ask for a reply), and committing on each made groups of ~4 transactions.
          // Everything the server sent is applied and committed: the slot may move to its position (lag reads 0 when idle).
          if (!this.txn && !this.group.open && !this.group.committing && stream.pending === 0) {
            await this.group.settle(); // throws if the last commit failed: never confirm past it
            this.group.confirmIdle(item.walEnd);
          }
          continue;
        }
        const applying = this.handle(item.msg);
        if (applying) await applying;
      }
    } finally {
      if (this.group.open) {
        this.buffer.clear();
        await this.group.rollback();
      } else await this.group.settle(); // the last group's commit returns (and is acknowledged) before the loop ends
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
      case 'update':
      case 'delete':
        return this.txn?.skipping ? undefined : this.onRowChange(msg);
      case 'truncate':
        return this.txn?.skipping ? undefined : this.onTruncate(msg);
      case 'type':
        this.sourceTypeNames.set(msg.typeOid, sourceTypeName(msg.schema, msg.name));
        return;
      default:
        return; // origin, logical messages: nothing to apply
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

  /** Everything still batched goes to the target, then the group commits; acknowledged once the commit returned (group.ts). */
  private async commitGroup(): Promise<void> {
    this.group.record(); // queued first: the position record goes out with the group's first statements or before its COPY
    await this.buffer.flush();
    await this.group.commit();
    // Until the operator's skip is met, commits return before going on: it is reported (onSkipped) only once committed.
    if (this.skipPending !== null) await this.group.settle();
  }

  private async onRelation(msg: RelationMessage): Promise<void> {
    await this.buffer.flush();
    await this.statements.flush();
    const prev = this.relations.get(msg.relationOid);
    const columns = msg.columns.map((c) => c.name);
    // Identity and generated columns, unique indexes and triggers as the target defines them (the message does not say).
    const found = await this.o.tables.take(msg.schema, msg.name, columns);
    if (!found || !prev || prev.columns.join('\0') !== columns.join('\0') || prev.table !== `${msg.schema}.${msg.name}`) {
      // A table first seen, or changed on the source: the target must have every column it now sends.
      checkTargetTable({ schema: msg.schema, name: msg.name, columns }, found && [...found.columns.keys()]);
    }
    const info = found!; // checkTargetTable threw if the target has no such table
    // A built-in type has the same OID on every cluster: a differing one is named from the target's catalog.
    if (this.binary) for (const oid of unnamedDifferingTypes(msg, info, this.sourceTypeNames)) this.sourceTypeNames.set(oid, (await this.o.tables.types.properties(oid)).name);
    const entry = relationEntry(msg, info, this.binary, this.sourceTypeNames);
    if (this.rowByRow) entry.batchable = false;
    for (const [i, source] of entry.recvAs.entries()) {
      if (!source) continue;
      // The source's receive function reads the bytes on the target: the type must exist there.
      if (!(await typeExists(this.o.target, source)))
        throw new TandemError(
          'replication_apply',
          `binary transfer cannot read column ${entry.columns[i]} of ${entry.table}: its type on the source, ${source}, does not exist on the target ` +
            `(where the column is ${entry.types[i]}). Create the type on the target, or run \`tandem replicate --text\` (replication.binary: false)`,
        );
      this.o.log.info('a column has another type on the source: its binary values are read as the source type and cast', {
        table: entry.table,
        column: entry.columns[i],
        source,
        target: entry.types[i],
      });
    }
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

  /** An insert, update or delete: hooked tables' changes apply at once (the hook reads their row), the rest waits in the buffer. */
  private onRowChange(msg: RowChange): Promise<void> | undefined {
    const rel = this.rel(msg.relationOid);
    this.group.countRow(rel.table);
    const hooks = this.hooks.get(rel.table);
    if (!hooks) return this.buffer.add(rel, msg, this.txn);
    return this.applyHooked(rel, msg, hooks);
  }

  private async applyHooked(rel: RelationEntry, msg: RowChange, hooks: ApplyHook[]): Promise<void> {
    await this.buffer.applyNow(rel, msg, this.txn);
    await this.callHooks(hooks, rel, msg.tag, msg.tag === 'delete' ? null : msg.newTuple, msg.tag === 'insert' ? null : msg.oldTuple);
  }

  private async onTruncate(msg: TruncateMessage): Promise<void> {
    await this.buffer.flush();
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

  private async callHooks(hooks: ApplyHook[], rel: RelationEntry, kind: AppliedChange['kind'], newTuple: Tuple | null, oldTuple: Tuple | null): Promise<void> {
    const toRow = (t: Tuple | null) => {
      if (!t) return null;
      const row: Record<string, string | null> = {};
      t.forEach((v, i) => v !== undefined && (row[rel.columns[i]!] = valueText(rel, i, v)));
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
