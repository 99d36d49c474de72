/**
 * A COPY into one table that stays open while the rows stream: the change
 * buffer writes each piece of rows (up to 2,000 rows / 2 MiB) into it as the
 * piece is decoded, and the target stores them as they arrive. The COPY ends
 * when anything else needs the target connection (another table, an update
 * or delete, the group's commit: StatementQueue ends it first).
 *
 * Why not one COPY per piece: each COPY is a round trip (the server answers
 * CopyInResponse before it takes data, and the next COPY can only start after
 * the previous one's reply), so the target sat idle between pieces while the
 * Tandem process built the next one and the walsender, its queue full, slept;
 * a catch-up kept the two cores only ~2/3 busy (replicator/docs/performance.md,
 * "Streaming COPY").
 *
 * Nothing of a piece is kept once it is written (the rows would outlive the
 * young-generation collections, replicator/docs/performance.md, "Memory"):
 * for an error the COPY keeps the first line of each source transaction in
 * it, so PostgreSQL's "COPY t, line N" names the transaction; the key is in
 * PostgreSQL's own detail where it matters (a duplicate key names itself).
 */
import { once } from 'node:events';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { txnRange, type BatchRow, type TxnRef } from './batch.js';
import { COPY_BINARY_END, COPY_BINARY_START } from './binary-values.js';
import { changeFailed } from './apply-error.js';
import { copyStatement, type RelationEntry } from './relation.js';
import type { ErrorContext, StatementQueue } from './statement-queue.js';

/**
 * Bytes written to the COPY and not yet taken by the socket before the
 * writer waits: a target that is behind slows the applier (and through the
 * stream's queue, the source) instead of filling memory. Buffers live outside
 * the JavaScript heap; this is about one piece.
 */
const WRITE_AHEAD_BYTES = 2 * 1024 * 1024;

export class StreamingCopy {
  /** Ended (its last piece written, or given up): no more rows. */
  private ended = false;
  private failed = false;
  private lines = 0;
  /** Line (1-based) where each source transaction's rows start, and the transactions, in order. */
  private readonly txnLines: number[] = [];
  private readonly txns: (TxnRef | null)[] = [];
  private readonly stream: ReturnType<typeof copyStreams.from>;

  constructor(
    readonly rel: RelationEntry,
    target: pg.Client,
    statements: StatementQueue,
  ) {
    this.stream = copyStreams.from(copyStatement(rel), { highWaterMark: WRITE_AHEAD_BYTES });
    const stream = this.stream;
    const finished = new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
    });
    finished.catch(() => undefined); // reported through `done`
    // Sent once everything submitted before it returned; ended by the queue before anything after it.
    const done = statements
      .submit(() => {
        target.query(stream);
        return finished;
      })
      .catch((e: unknown) => {
        this.failed = true;
        throw changeFailed(e, this.context(e));
      });
    statements.running(done, this);
    if (rel.anyBinary) stream.write(COPY_BINARY_START);
  }

  /** Whether more rows of `rel` may be written into this COPY. */
  takes(rel: RelationEntry): boolean {
    return !this.ended && !this.failed && this.rel === rel;
  }

  /**
   * Write a piece: `data` holds `rows` in the COPY's format. Resolves at once,
   * or once the socket took what was written before when the target is behind
   * (or the COPY failed: its error is thrown by the queue's next settle).
   */
  write(rows: readonly BatchRow[], data: Buffer): Promise<void> | undefined {
    for (let i = 0; i < rows.length; i++) {
      const txn = rows[i]!.txn;
      if (this.txns.length === 0 || this.txns[this.txns.length - 1] !== txn) {
        this.txnLines.push(this.lines + i + 1);
        this.txns.push(txn);
      }
    }
    this.lines += rows.length;
    if (this.stream.write(data) || this.failed) return undefined;
    return this.drained();
  }

  /** Write the end and finish the COPY (StatementQueue calls this before anything else uses the connection). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.failed) return;
    if (this.rel.anyBinary) this.stream.write(COPY_BINARY_END);
    this.stream.end();
  }

  private async drained(): Promise<void> {
    const ac = new AbortController();
    const closed = once(this.stream, 'close', { signal: ac.signal });
    closed.catch(() => undefined);
    try {
      await Promise.race([once(this.stream, 'drain', { signal: ac.signal }), closed]);
    } catch {
      // The COPY failed or was closed meanwhile: its error is the queue's to report (settle).
    } finally {
      ac.abort();
    }
  }

  /** What an error names: PostgreSQL's "COPY t, line N" gives the source transaction of that row. */
  private context(e: unknown): ErrorContext {
    const line = /\bline (\d+)/.exec((e as { where?: string })?.where ?? '');
    const table = this.rel.table;
    if (line) {
      const n = Number(line[1]);
      let k = this.txnLines.length - 1;
      while (k > 0 && this.txnLines[k]! > n) k--;
      const txn = this.txns[k] ?? null;
      return { table, change: `insert (line ${n} of a COPY of ${this.lines} rows)`, ...txnRange(txn, txn) };
    }
    return { table, change: `insert (one of ${this.lines} rows)`, ...txnRange(this.txns[0] ?? null, this.txns[this.txns.length - 1] ?? null) };
  }
}
