/**
 * The applier's statements on their way to the target: queued statements
 * sent in one round trip (pipeline.ts), and the COPY still running on the
 * target while the next rows are decoded. Every use of the target connection
 * first waits for that COPY (settle), so order and error reporting are kept.
 */
import type pg from 'pg';
import { applyError, changeFailed, RowMissingError } from './apply-error.js';
import { runPipeline, type PipelineStatement } from './pipeline.js';

export type ErrorContext = { table: string; change: string; key?: Record<string, string | null>; commitLsn?: string; xid?: number };

export interface Pending extends PipelineStatement {
  /** Rows the statement must change (UPDATE and DELETE: every row they name); null = not checked. */
  expectRows: number | null;
  kind: string;
  context: () => ErrorContext;
  /** For a set-based statement that changed fewer rows: the change whose row was missing (from the returned ordinals). */
  mismatch?: (returned: (string | null)[]) => ErrorContext;
}

/** Statements sent per round trip at most. */
const PIPELINE_MAX = 1000;

export class StatementQueue {
  private pending: Pending[] = [];
  /** A COPY still running on the target while the next rows are decoded. */
  private inflight: Promise<void> | null = null;

  constructor(private readonly target: pg.Client) {}

  /** As many statements as one round trip takes: flush before queueing more. */
  get full(): boolean {
    return this.pending.length >= PIPELINE_MAX;
  }

  push(p: Pending): void {
    this.pending.push(p);
  }

  /** Forget the queued statements (their target transaction is rolled back). */
  clear(): void {
    this.pending = [];
  }

  /** A COPY now running on the target; the next use of the connection waits for it. */
  running(done: Promise<void>): void {
    this.inflight = done;
  }

  /** Wait for the running COPY, if any (its failure is thrown here). */
  async settle(): Promise<void> {
    const p = this.inflight;
    if (!p) return;
    this.inflight = null;
    await p;
  }

  /** Send the pending statements in one round trip; any failure or missing row names its change. */
  async flush(): Promise<void> {
    await this.settle();
    const batch = this.pending;
    if (!batch.length) return;
    this.pending = [];
    const res = await runPipeline(this.target, batch);
    if (res.error) {
      const i = res.error.failedIndex ?? 0;
      const item = batch[i];
      if (!item) throw res.error;
      throw changeFailed(res.error, item.context()); // a lost connection is retried by the runner
    }
    for (let i = 0; i < batch.length; i++) {
      const item = batch[i]!;
      if (item.expectRows !== null && res.rowCounts[i] !== item.expectRows)
        throw applyError(new RowMissingError(`the row to ${item.kind} does not exist on the target`), item.mismatch ? item.mismatch(res.returned[i] ?? []) : item.context());
    }
  }
}
