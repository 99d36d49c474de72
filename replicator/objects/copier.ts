/**
 * The object copier of a passive site: takes due requests from
 * `tandem_site.log_object_copies` (filled by the replicator's apply hook),
 * copies each from the active site's store into this site's store, and
 * records the outcome. Failures retry with exponential backoff; a checksum
 * mismatch is retried `maxMismatches` times and then reported as `failed`,
 * never accepted. Requests live in the database, so a restart of the copier
 * resumes where it stopped. When changing this, read replicator/docs/object-copy.md.
 */
import type pg from 'pg';
import { errorMessage } from '../../server/errors.js';
import type { Logger } from '../../server/log.js';
import type { LogStore } from '../../server/logs/store.js';
import { copyOne } from './copy-one.js';
import { backfillCopies } from './sql/backfill-copies.js';
import { dueCopies, type CopyRequest } from './sql/due-copies.js';
import { finishCopy } from './sql/finish-copy.js';

export interface CopierOptions {
  /** This (target) site's database. */
  pool: pg.Pool;
  source: LogStore;
  target: LogStore;
  log: Logger;
  concurrency?: number;
  /** How often to look for due copies when idle (default 200 ms). */
  pollMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Mismatching copies before a request is reported as failed (default 3). */
  maxMismatches?: number;
  /** How often records without a copy request are looked for (default 60 s; also at start). */
  backfillIntervalMs?: number;
}

export class LogObjectCopier {
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  copied = 0;

  constructor(private readonly o: CopierOptions) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Look for due copies now (e.g. right after the replicator applied records). */
  poke(): void {
    this.wake?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    const concurrency = this.o.concurrency ?? 16;
    let lastBackfill = 0;
    while (!this.stopped) {
      if (Date.now() - lastBackfill >= (this.o.backfillIntervalMs ?? 60_000)) {
        lastBackfill = Date.now();
        try {
          const n = await backfillCopies(this.o.pool);
          if (n) this.o.log.info('requested copies of log objects recorded without one (initial copy)', { count: n });
        } catch (e) {
          this.o.log.warn('cannot look for log objects without a copy request', { error: e });
        }
      }
      let batch: CopyRequest[] = [];
      try {
        batch = await dueCopies(this.o.pool, concurrency * 4);
      } catch (e) {
        this.o.log.warn('cannot read pending log object copies', { error: e });
      }
      if (batch.length) {
        // A small pool of workers over the batch.
        let next = 0;
        await Promise.all(
          Array.from({ length: Math.min(concurrency, batch.length) }, async () => {
            while (!this.stopped && next < batch.length) await this.copy(batch[next++]!);
          }),
        );
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.o.pollMs ?? 200);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  private backoff(attempts: number): number {
    const base = this.o.retryBaseMs ?? 250;
    return Math.min(this.o.retryMaxMs ?? 30_000, base * 2 ** Math.min(attempts, 20)) * (0.75 + Math.random() * 0.5);
  }

  private async copy(r: CopyRequest): Promise<void> {
    let outcome: Parameters<typeof finishCopy>[1];
    try {
      const res = await copyOne(this.o.source, this.o.target, r);
      if (res.kind === 'done') {
        this.copied++;
        outcome = { key: r.key, sha256: r.sha256, outcome: 'done' };
      } else if (res.kind === 'wait') {
        // Expected and short-lived (the record outran its object): retry soon, at most every 2 s.
        const delayMs = Math.min(2000, this.backoff(r.attempts));
        outcome = { key: r.key, sha256: r.sha256, outcome: 'retry', delayMs, error: `replicating: ${res.why}` };
      } else {
        const failed = r.mismatches + 1 >= (this.o.maxMismatches ?? 3);
        const error = `checksum mismatch: ${res.why}`;
        (failed ? this.o.log.error : this.o.log.warn)(failed ? 'log object copy failed: checksum never matched' : 'log object copy does not match its record; retrying', {
          key: r.key,
          attempt: r.mismatches + 1,
          error,
        });
        outcome = { key: r.key, sha256: r.sha256, outcome: failed ? 'failed' : 'retry', delayMs: this.backoff(r.attempts), error, mismatch: true };
      }
    } catch (e) {
      // A store or network failure: keep the request, retry later.
      if (r.attempts === 0 || r.attempts % 10 === 9) this.o.log.warn('log object copy failed; retrying', { key: r.key, attempt: r.attempts + 1, error: e });
      outcome = { key: r.key, sha256: r.sha256, outcome: 'retry', delayMs: this.backoff(r.attempts), error: errorMessage(e) };
    }
    try {
      await finishCopy(this.o.pool, outcome);
    } catch (e) {
      this.o.log.warn('cannot record a log object copy outcome; it will be tried again', { key: r.key, error: e });
    }
  }
}
