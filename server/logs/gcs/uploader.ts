/**
 * Uploads spooled logs to the bucket: a checkpoint of a running log when
 * `checkpointBytes` new bytes are spooled or `checkpointIntervalMs` passed
 * since its last upload, and the final version as soon as a log is sealed.
 *
 * The first upload writes the whole object; later ones append the new bytes
 * (LogObjects.append: GCS compose of the last version and a chunk). Every
 * upload is guarded by `ifGenerationMatch` set to the generation this member
 * last wrote (0 for a new object), so a stale writer can never replace a
 * newer checkpoint. A 412 is resolved by looking at the
 * live object: if it is a version this member sent without hearing the
 * answer, it is adopted; otherwise another writer owns the log and this
 * member stops uploading it (kept in the spool, reported as a conflict).
 *
 * Failures are retried with exponential backoff and jitter, per log; the
 * writers never wait for the bucket.
 */
import type { Logger } from '../../log.js';
import type { UploadMetrics } from '../../metrics/logs.js';
import type { Db } from '../../db/db.js';
import { errorMessage } from '../../errors.js';
import { LogObjects, MAX_COMPONENTS, outcomeUnknown, statusOf } from './objects.js';
import { hasPendingUpload, type SpooledLog } from './spooled-log.js';
import { recordLogUpload } from './sql/record-log-upload.js';

export interface UploaderOptions {
  objects: LogObjects;
  member: string;
  log: Logger;
  db?: Db;
  /** Counts failed upload attempts (`tandem_log_upload_failures_total`). */
  metrics?: UploadMetrics;
  checkpointIntervalMs: number;
  /**
   * Checkpoints after the first append the new bytes only (GCS compose)
   * instead of uploading the whole log again: a long log costs its size once,
   * not once per checkpoint. Off for buckets that lack compose.
   */
  append: boolean;
  /** Components after which the log is rewritten whole instead (default MAX_COMPONENTS, GCS allows 1024). */
  maxComponents?: number;
  checkpointBytes: number;
  maxConcurrent: number;
  retryBaseMs: number;
  retryMaxMs: number;
  tickMs: number;
  /** Called after the final version of a log is in the bucket (the store drops it from the spool). */
  onComplete(log: SpooledLog): Promise<void>;
}

export class Uploader {
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private readonly running = new Set<Promise<void>>();
  private waiters: Array<() => void> = [];

  constructor(
    private readonly o: UploaderOptions,
    private readonly logs: () => Iterable<SpooledLog>,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.o.tickMs).unref();
  }

  /** Stops scheduling and waits for the uploads in flight. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.running]);
  }

  /** Looks for due uploads now (e.g. right after a log was sealed). */
  kick(): void {
    queueMicrotask(() => this.tick());
  }

  /** Resolves on the next upload that finishes (success or failure); for waiting loops. */
  nextSettled(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private due(l: SpooledLog, now: number): boolean {
    if (l.uploading || l.removed || now < l.nextAttemptAt || !hasPendingUpload(l)) return false;
    const up = l.spool.state.uploaded;
    if (l.spool.state.sealed) return true;
    if (l.spool.size - (up?.size ?? 0) >= this.o.checkpointBytes) return true;
    // A brand-new empty log has nothing worth a checkpoint yet.
    if (l.spool.size === 0) return false;
    return now - l.lastUploadAt >= this.o.checkpointIntervalMs;
  }

  private tick(): void {
    const now = Date.now();
    for (const l of this.logs()) {
      if (this.inFlight >= this.o.maxConcurrent) break;
      if (!this.due(l, now)) continue;
      this.inFlight++;
      l.uploading = true;
      const p = this.upload(l).finally(() => {
        l.uploading = false;
        this.inFlight--;
        this.running.delete(p);
        const w = this.waiters;
        this.waiters = [];
        for (const f of w) f();
      });
      this.running.add(p);
    }
  }

  private async upload(l: SpooledLog): Promise<void> {
    const st = l.spool.state;
    // Size and checksum are read in the same tick, so they describe the same bytes.
    const size = l.spool.size;
    const sha256 = l.spool.sha256();
    const complete = st.sealed;
    const attempt = { size, sha256, complete };
    // The checkpoint cadence counts from the start of an upload, so a slow bucket does not stretch it.
    const startedAt = Date.now();
    try {
      // Append only what the bucket lacks when it has an earlier version of ours; else send the whole log.
      const base = st.uploaded;
      const appending = this.o.append && base !== null && base.size > 0 && size >= base.size && (base.components ?? 1) < (this.o.maxComponents ?? MAX_COMPONENTS);
      const from = appending ? base!.size : 0;
      const data = await l.spool.read(from, size - from);
      if (data.length !== size - from) throw new Error(`spool of ${l.key} is shorter than expected (${from + data.length} < ${size})`);
      let generation: string;
      let components = 1;
      try {
        if (appending) {
          const r = await this.o.objects.append(l.key, data, { base: base!.generation, complete, sha256, member: this.o.member });
          generation = r.generation;
          components = r.components;
          if (r.leftoverPart) this.o.log.warn('could not delete a temporary log part (harmless; a bucket lifecycle rule can remove leftovers)', { part: r.leftoverPart.name, error: r.leftoverPart.error });
        } else {
          generation = await this.o.objects.put(l.key, data, { ifGenerationMatch: base?.generation ?? '0', complete, sha256, member: this.o.member });
        }
      } catch (e) {
        // 412: the object is no longer our base; 404 on an append: our base generation is gone (replaced or deleted).
        if (statusOf(e) !== 412 && !(appending && statusOf(e) === 404)) {
          if (outcomeUnknown(e)) l.maybeUploaded.push(attempt);
          throw e;
        }
        if (!(await this.resolveConflict(l))) return;
        // Our own earlier version is live: the next tick uploads the rest from there.
        l.nextAttemptAt = 0;
        return;
      }
      st.uploaded = { size, sha256, generation, complete, components };
      l.maybeUploaded = [];
      await l.spool.saveState();
      l.lastUploadAt = startedAt;
      if (l.failures > 0) this.o.log.info('log uploads resumed', { key: l.key, failedAttempts: l.failures, size });
      l.failures = 0;
      l.lastError = null;
      await this.record(l.key, size, sha256, complete);
      if (complete) await this.o.onComplete(l);
    } catch (e) {
      l.failures++;
      this.o.metrics?.uploadFailed();
      l.lastError = errorMessage(e);
      const delay = Math.min(this.o.retryMaxMs, this.o.retryBaseMs * 2 ** Math.min(l.failures - 1, 20)) * (0.75 + Math.random() * 0.5);
      l.nextAttemptAt = Date.now() + delay;
      // One line when a log starts failing, then one every 10 failures: a long outage stays readable.
      if (l.failures === 1 || l.failures % 10 === 0) {
        this.o.log.warn('log upload failed; kept in the spool, retrying', { key: l.key, attempt: l.failures, retryInMs: Math.round(delay), error: l.lastError });
      }
    }
  }

  /** A 412: returns true when the live object is one of our own unanswered uploads (adopted), false on a real conflict. */
  private async resolveConflict(l: SpooledLog): Promise<boolean> {
    const st = l.spool.state;
    const live = await this.o.objects.stat(l.key);
    const mine = live && l.maybeUploaded.find((a) => a.size === live.size && a.sha256 === live.sha256 && a.complete === live.complete);
    if (live && mine) {
      st.uploaded = { ...mine, generation: live.generation, components: live.components };
      l.maybeUploaded = [];
      await l.spool.saveState();
      this.o.log.info('an upload whose answer was lost had succeeded; continuing from it', { key: l.key, generation: live.generation });
      return true;
    }
    st.conflict =
      `log ${l.key} was replaced in the bucket by another writer` +
      (live ? ` (generation ${live.generation}, ${live.size} bytes${live.complete ? ', complete' : ''})` : ' (and then deleted)') +
      `; this member's copy (${l.spool.size} bytes) stays in its spool at ${l.spool.dataPath}`;
    await l.spool.saveState();
    this.o.log.error('log upload refused: another writer owns this log', { key: l.key, generation: live?.generation ?? null, spool: l.spool.dataPath });
    return false;
  }

  private async record(key: string, size: number, sha256: string, complete: boolean): Promise<void> {
    if (!this.o.db) return;
    try {
      await recordLogUpload(this.o.db, { key, store: 'gcs', size, sha256, complete });
    } catch (e) {
      // The bucket has the object; the record catches up with the next upload (and the job server records the final one).
      this.o.log.warn('cannot record the log upload in the database', { key, error: e });
    }
  }
}
