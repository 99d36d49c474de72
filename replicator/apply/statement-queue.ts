/**
 * The applier's statements on their way to the target. Queued statements are
 * sent in one round trip (pipeline.ts); what was sent and not yet checked —
 * a pipeline, the COPY still running while the next rows are decoded, the
 * previous group's commit — waits here in the order it was sent (node-pg
 * runs them in that order on the one connection). `flush` sends the queue and
 * then checks every result in order, so the first failure is the one thrown
 * (what follows a failed statement fails too: its transaction is aborted) and
 * nothing is ever committed past an unchecked row count
 * (when changing this, read replicator/docs/performance.md, "Round trips").
 *
 * A streaming COPY (streaming-copy.ts) stays open for more rows: `submit`
 * and `settle` end it first, so whatever uses the connection next — a
 * pipeline, another COPY, the commit — follows its last row.
 *
 * Every use of the target connection while something may still be running
 * goes through `submit`, which hands node-pg one operation at a time, in the
 * order submitted: node-pg 8 would queue them itself, but warns that a query
 * handed over while another waits in its queue will fail in pg 9. The wire
 * sees the same thing either way (node-pg sends the next query only after the
 * previous one's ReadyForQuery); only the next group's decoding runs ahead.
 */
import type pg from 'pg';
import { SQLSTATE, sqlstateOf } from '../../server/db/sqlstate.js';
import { applyError, changeFailed, RowMissingError } from './apply-error.js';
import { runPipeline, type PipelineStatement } from './pipeline.js';
import { checkedOnTarget, reportedOrdinals } from './row-check.js';

export type ErrorContext = { table: string; change: string; key?: Record<string, string | null>; commitLsn?: string; xid?: number };

export interface Pending extends PipelineStatement {
  /** Rows the statement must change (UPDATE and DELETE: every row they name); null = not checked. */
  expectRows: number | null;
  kind: string;
  /** What an error names; `failure` is the target's error when the statement failed (a set-based insert finds its row there). */
  context: (failure?: unknown) => ErrorContext;
  /**
   * For a set-based statement that changed fewer rows: the change whose row was missing (from the returned
   * ordinals). Only statements that return the ordinal (`ord`) of every row they touched have one.
   */
  mismatch?: (returned: (string | null)[]) => ErrorContext;
  /**
   * Nothing sent after it depends on its result, only the commit does (the
   * group's begin and its progress record): a flush of only such statements
   * sends them without waiting; the commit's flush checks them.
   */
  checkAtCommit?: boolean;
}

/** An operation left open on the connection for more input (a streaming COPY): ended before anything else uses it. */
export interface OpenOperation {
  end(): void;
}

/**
 * Set-based updates and deletes join the batch (`unnest` of its arrays) to
 * the table on the key. For batches of hundreds of rows the planner prefers a
 * hash join over a sequential scan of the whole table until the table holds
 * about a million rows (its cost model: one index probe per batch row costs
 * more than reading the table), and that scan was most of the target's work
 * in a catch-up of single-row transactions on a 30,000-row table (measured:
 * replicator/docs/performance.md, "Batches join through the key's index").
 * Where the target has a unique index on the key, hash and merge joins are
 * turned off for the rest of the transaction (SET LOCAL) before such a
 * statement, so it probes the index once per row, whatever the table's size;
 * before a statement on a table without one they are turned back on ('on',
 * PostgreSQL's default), as a nested loop would then read the table once per
 * row.
 */
function joinSettings(byIndex: boolean): Pending {
  return {
    name: '',
    text: "select set_config('enable_hashjoin', $1, true), set_config('enable_mergejoin', $1, true)",
    values: [byIndex ? 'off' : 'on'],
    expectRows: null,
    kind: 'planner settings',
    context: () => ({ table: '-', change: 'planner settings' }),
  };
}

/** Statements sent per round trip at most. */
const PIPELINE_MAX = 1000;

/** The statement that opens a group's target transaction; it travels with the group's first statements. */
export const BEGIN: Pending = { name: '', text: 'begin', values: [], expectRows: null, kind: 'begin', checkAtCommit: true, context: () => ({ table: '-', change: 'begin' }) };

const COMMIT: PipelineStatement = { name: '', text: 'commit', values: [] };

/** The row missing for a statement that changed fewer rows than its change names. */
function rowMissing(item: Pending, returned: (string | null)[]): Error {
  return applyError(new RowMissingError(`the row to ${item.kind} does not exist on the target`), item.mismatch ? item.mismatch(returned) : item.context());
}

/**
 * What a failed pipeline throws: the failing statement's change named (its missing row when the target's
 * row check failed, row-check.ts); past every statement, the commit sent with them failed.
 */
function pipelineFailure(batch: Pending[], error: Error & { failedIndex?: number }): unknown {
  const item = batch[error.failedIndex ?? 0];
  if (!item) return changeFailed(error, { table: '-', change: 'commit' });
  if (sqlstateOf(error) === SQLSTATE.ROW_COUNT_MISMATCH) return rowMissing(item, reportedOrdinals(error));
  return changeFailed(error, item.context(error)); // a lost connection is retried by the runner
}

export class StatementQueue {
  private pending: Pending[] = [];
  /** Sent and not yet checked, in the order sent; each rejects with its change's error. */
  private inflight: Promise<void>[] = [];
  /** The last operation handed to the connection (settled either way): the next one starts after it. */
  private tail: Promise<unknown> = Promise.resolve();
  /**
   * Every check of what was sent, in order (`settle` takes them off `inflight`, this keeps them): rejects with
   * the first failure and stays rejected. A commit sent with the statements waits for it (`sendWithCommit`).
   * After a failure the queue's session ends (the runner opens a new one, with a new queue).
   */
  private checks: Promise<void> = Promise.resolve();
  /** The streaming COPY still taking rows, if any. */
  private open: OpenOperation | null = null;
  /** Hash and merge joins are off in the open target transaction (joinByIndex). */
  private byIndex = false;

  /**
   * @param rowCheck the target session has the row check function (row-check.ts): the group's commit may
   *   travel with its last statements (`sendWithCommit`).
   */
  constructor(
    private readonly target: pg.Client,
    private readonly rowCheck = false,
  ) {}

  /** As many statements as one round trip takes: flush before queueing more. */
  get full(): boolean {
    return this.pending.length >= PIPELINE_MAX;
  }

  /**
   * Nothing queued that must reach the target before more rows of an open
   * COPY: only the group's begin and position record, which may follow them.
   */
  get holdsOnlyCommitChecks(): boolean {
    return this.pending.every((p) => p.checkAtCommit);
  }

  push(p: Pending): void {
    if (p === BEGIN) this.byIndex = false; // SET LOCAL ended with the previous transaction
    this.pending.push(p);
  }

  /**
   * Before a set-based update or delete: join through the key's unique index
   * (`byIndex`) or let the planner choose (see joinSettings); a statement is
   * queued only when that changes within the open transaction.
   */
  joinByIndex(byIndex: boolean): void {
    if (byIndex === this.byIndex) return;
    this.byIndex = byIndex;
    this.pending.push(joinSettings(byIndex));
  }

  /** Forget the queued statements (their target transaction is rolled back). */
  clear(): void {
    this.pending = [];
  }

  /**
   * Run `op` on the target connection once every operation submitted before
   * it has returned (successfully or not: after a failure the target
   * transaction is aborted, what follows fails too, and `settle` reports the
   * first failure). Returns `op`'s own outcome.
   */
  submit<T>(op: () => Promise<T>): Promise<T> {
    this.endOpen();
    const result = this.tail.then(op, op);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Something now running on the target (a COPY, a commit); the next `settle` waits for it and throws its
   * failure. `open`: it stays open for more input until the next `submit` or `settle` ends it.
   */
  running(done: Promise<void>, open?: OpenOperation): void {
    done.catch(() => undefined); // thrown by settle, in order; not an unhandled rejection meanwhile
    this.inflight.push(done);
    this.checks = this.checks.then(() => done);
    this.checks.catch(() => undefined);
    if (open) this.open = open;
  }

  private endOpen(): void {
    const open = this.open;
    this.open = null;
    open?.end();
  }

  /** Wait for everything sent, in order; the first failure is thrown. */
  async settle(): Promise<void> {
    this.endOpen();
    while (this.inflight.length) {
      const p = this.inflight.shift()!;
      await p;
    }
  }

  /**
   * Send the pending statements in one round trip, behind whatever is still
   * running, then check everything sent: any failure or missing row names its change.
   */
  async flush(): Promise<void> {
    if (this.pending.length && this.pending.every((p) => p.checkAtCommit)) {
      // Only the group's begin and progress record: nothing that follows depends on their replies, so they
      // are not waited for here; the next operation (a COPY) follows them at once, and the commit's flush
      // checks them. (A begin can only fail on a lost connection or an aborted transaction, where what
      // follows fails as well; when changing this, read replicator/docs/performance.md, "Round trips".)
      this.send();
      return;
    }
    this.send();
    await this.settle();
  }

  /** Send the pending statements, not waiting for their replies (checked by the next `settle`). */
  private send(): void {
    const batch = this.pending;
    if (!batch.length) return;
    this.pending = [];
    this.running(
      this.submit(() => runPipeline(this.target, batch)).then((res) => {
        if (res.error) throw pipelineFailure(batch, res.error);
        for (let i = 0; i < batch.length; i++) {
          const item = batch[i]!;
          if (item.expectRows !== null && res.rowCounts[i] !== item.expectRows) throw rowMissing(item, res.returned[i] ?? []);
        }
      }),
    );
  }

  /**
   * Send the queued statements and `commit` in one round trip, every row
   * count checked on the target (row-check.ts): a statement that finds fewer
   * rows fails there, the server skips the rest (the commit too), and nothing
   * of the group is committed. Resolves with the commit's command tag
   * (`ROLLBACK` when the transaction had failed without an error here); the
   * caller registers what it does with it as `running`. Null when this is not
   * possible (no check function in this session, or a statement that cannot
   * be checked there): then the caller flushes and commits in a round trip of
   * its own. When changing this, read replicator/docs/performance.md, "One
   * round trip per group".
   */
  sendWithCommit(): Promise<string> | null {
    if (!this.rowCheck) return null;
    const batch = this.pending;
    const wire: PipelineStatement[] = [];
    for (const p of batch) {
      if (p.expectRows === null) {
        wire.push(p);
        continue;
      }
      const checked = checkedOnTarget({ ...p, expectRows: p.expectRows, ordinals: p.mismatch !== undefined });
      if (!checked) return null;
      wire.push(checked);
    }
    wire.push(COMMIT);
    this.pending = [];
    // What was sent before (pipelines, a COPY, the previous group's commit) is checked in Node: the commit
    // must not go out before those checks passed. Operations run one at a time, in order, so all of them
    // have returned when this one starts; a failure among them keeps the commit from being sent.
    const before = this.checks;
    return this.submit(async () => {
      await before;
      return runPipeline(this.target, wire);
    }).then((res) => {
      if (res.error) throw pipelineFailure(batch, res.error);
      return res.commands[wire.length - 1] ?? '';
    });
  }
}
