/**
 * The writing side of one log in the GCS store. `append` only buffers; the
 * buffer goes to the local spool file when it passes `batchBytes` or every
 * `flushIntervalMs` (short by default, because the spool is what this member
 * serves to readers and what checkpoints upload). Uploading is not the
 * writer's business: the uploader picks the spool up from there.
 *
 * Spool usage is bounded: while the spool is over its limit, timed flushes
 * keep lines in memory, `pendingBytes` grows and the job server pauses the
 * producers (explicit `flush`/`finish` still write, so nothing deadlocks).
 */
import { TandemError } from '../../errors.js';
import { entryLine, type LogEntry, type LogObjectInfo, type LogWriter } from '../store.js';
import type { SpooledLog } from './spooled-log.js';

export interface WriterHost {
  readonly batchBytes: number;
  readonly flushIntervalMs: number;
  spoolFull(): boolean;
  /** Lines reached the spool. */
  spooled(log: SpooledLog): void;
  /** The log is finished: seal it in the spool and queue the final upload. */
  seal(log: SpooledLog): Promise<LogObjectInfo>;
}

export class GcsLogWriter implements LogWriter {
  private lines: string[] = [];
  private pending = 0;
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private failed: Error | undefined;
  private done = false;

  constructor(
    private readonly log: SpooledLog,
    private readonly host: WriterHost,
  ) {}

  get key(): string {
    return this.log.key;
  }

  get pendingBytes(): number {
    return this.pending;
  }

  append(entry: LogEntry): void {
    if (this.done) throw new Error(`log ${this.key} is finished`);
    const line = entryLine(entry);
    this.lines.push(line);
    this.pending += Buffer.byteLength(line);
    if (this.pending >= this.host.batchBytes && !this.host.spoolFull()) void this.flush().catch(() => undefined);
    else this.arm();
  }

  private arm(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      if (this.host.spoolFull()) this.arm(); // hold the lines in memory until the spool drains
      else void this.flush().catch(() => undefined);
    }, this.host.flushIntervalMs).unref();
  }

  /** Writes everything appended so far to the spool, in order; an I/O error is reported to every later flush. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.lines.length) {
      const buf = Buffer.from(this.lines.join(''), 'utf8');
      this.lines = [];
      this.pending = 0;
      this.writing = this.writing.then(async () => {
        if (this.failed) return;
        try {
          await this.log.spool.append(buf);
          this.host.spooled(this.log);
        } catch (e) {
          this.failed = e as Error;
        }
      });
    }
    return this.writing.then(() => {
      if (this.failed) throw this.failed;
    });
  }

  async finish(): Promise<LogObjectInfo> {
    await this.flush();
    this.done = true;
    this.log.writing = false;
    const conflict = this.log.spool.state.conflict;
    if (conflict) throw new TandemError('conflict', conflict);
    return this.host.seal(this.log);
  }

  /** Store shutdown: spool what is buffered without sealing (the log stays resumable after a restart). */
  async close(): Promise<void> {
    if (this.done) return;
    await this.flush().catch(() => undefined);
    this.done = true;
    this.log.writing = false;
  }
}
