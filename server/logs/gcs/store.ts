/**
 * LogStore on Google Cloud Storage (one bucket per site, shared by all its
 * members). The executing member writes every line to its local spool first
 * (spool.ts) and the uploader (uploader.ts) turns the spool into checkpoint
 * objects while the execution runs and into the final object when it ends.
 *
 * Reads: on the executing member, from the spool (the freshest lines); on
 * any other member, from the object in the bucket (the last checkpoint or
 * the finished log), by byte offset, pinned to one generation so a
 * checkpoint landing mid-read cannot mix versions.
 *
 * A restart of the member finds the spool again (`start()`): unsealed logs
 * keep their lines and can be reopened (or sealed by start-up recovery),
 * sealed logs not yet uploaded are uploaded.
 */
import { createHash } from 'node:crypto';
import { errorMessage, isTandemError, TandemError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Db } from '../../db/db.js';
import { parseLines, type LogObjectInfo, type LogReadOptions, type LogReadResult, type LogStore, type LogWriter } from '../store.js';
import { LogObjects, statusOf, type RemoteLog } from './objects.js';
import { listSpool, SpoolFile } from './spool.js';
import { hasPendingUpload, newSpooledLog, type SpooledLog } from './spooled-log.js';
import { Uploader } from './uploader.js';
import { GcsLogWriter, type WriterHost } from './writer.js';
import type { Bucket } from '@google-cloud/storage';
import type { UploadMetrics } from '../../metrics/logs.js';

export interface GcsLogStoreOptions {
  bucket: Bucket;
  /** Prepended to every key to form the object name. */
  prefix?: string;
  spoolDir: string;
  /** Name of this member, written into object metadata. */
  member: string;
  log: Logger;
  /** When given, each upload is recorded in `tandem.log_objects` (by key). */
  db?: Db;
  /** Counts failed upload attempts. */
  metrics?: UploadMetrics;
  checkpointIntervalMs?: number;
  checkpointBytes?: number;
  /** Checkpoints append the new bytes with GCS compose (default true); see Uploader. */
  appendCheckpoints?: boolean;
  /** See UploaderOptions.maxComponents. */
  maxComponents?: number;
  /** Soft bound of the spool; above it writers hold lines in memory and report them in `pendingBytes`. */
  spoolLimitBytes?: number;
  requestTimeoutMs?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  maxConcurrentUploads?: number;
  /** Spool write cadence of a writer (default 100 ms). */
  flushIntervalMs?: number;
}

export interface SpoolUsage {
  bytes: number;
  limitBytes: number;
  logs: number;
  /** Logs with something the bucket does not have yet. */
  pendingUploads: number;
  /** Bytes spooled but not yet in the bucket. */
  pendingBytes: number;
  /** Logs whose uploads are refused because another writer owns the object. */
  conflicts: string[];
  /** Last upload error of a log that is still failing, if any. */
  lastError: string | null;
}

const DEFAULT_READ = 1024 * 1024;

export class GcsLogStore implements LogStore {
  readonly kind = 'gcs';
  private readonly logs = new Map<string, SpooledLog>();
  private readonly objects: LogObjects;
  private readonly uploader: Uploader;
  private readonly writers = new Set<GcsLogWriter>();
  private readonly spoolLimit: number;
  private spoolWarned = false;
  private readonly host: WriterHost;

  constructor(private readonly o: GcsLogStoreOptions) {
    this.objects = new LogObjects(o.bucket, o.prefix ?? '', o.requestTimeoutMs ?? 30_000);
    this.spoolLimit = o.spoolLimitBytes ?? 1024 ** 3;
    this.uploader = new Uploader(
      {
        objects: this.objects,
        member: o.member,
        log: o.log,
        db: o.db,
        metrics: o.metrics,
        checkpointIntervalMs: o.checkpointIntervalMs ?? 1000,
        checkpointBytes: o.checkpointBytes ?? 256 * 1024,
        append: o.appendCheckpoints ?? true,
        maxComponents: o.maxComponents,
        maxConcurrent: o.maxConcurrentUploads ?? 8,
        retryBaseMs: o.retryBaseMs ?? 250,
        retryMaxMs: o.retryMaxMs ?? 10_000,
        tickMs: 50,
        onComplete: (l) => this.drop(l),
      },
      () => this.logs.values(),
    );
    this.host = {
      batchBytes: 64 * 1024,
      flushIntervalMs: o.flushIntervalMs ?? 100,
      spoolFull: () => this.spoolFull(),
      spooled: () => undefined,
      seal: (l) => this.sealSpooled(l),
    };
  }

  /** Loads what a previous run left in the spool and starts uploading. Call once before use. */
  async start(): Promise<void> {
    const keys = await listSpool(this.o.spoolDir);
    let pending = 0;
    for (const key of keys) {
      if (this.logs.has(key)) continue;
      const l = newSpooledLog(await SpoolFile.open(this.o.spoolDir, key), 0);
      this.logs.set(key, l);
      if (hasPendingUpload(l)) pending++;
    }
    if (keys.length) this.o.log.info('log spool found at start', { spoolDir: this.o.spoolDir, logs: keys.length, pendingUploads: pending });
    this.uploader.start();
  }

  /** Object name of a key (prefix + key). */
  objectName(key: string): string {
    return this.objects.nameOf(key);
  }

  async open(key: string): Promise<LogWriter> {
    checkKey(key);
    let l = this.logs.get(key);
    if (l) {
      if (l.writing) throw new TandemError('conflict', `log ${key} is already open for writing on this member`);
      if (l.spool.state.sealed) throw new TandemError('conflict', `log ${key} is already complete`);
    } else {
      l = await this.adopt(key);
    }
    l.writing = true;
    const w = new GcsLogWriter(l, this.host);
    this.writers.add(w);
    return w;
  }

  /**
   * A log this member has no spool for: start from the bucket's checkpoint if
   * there is one (another member wrote it), else empty. When the bucket cannot
   * be reached, a new log starts empty anyway (a new execution's key has no
   * object): its first upload uses ifGenerationMatch=0 and so cannot clobber
   * an object it did not see.
   */
  private async adopt(key: string): Promise<SpooledLog> {
    let remote: Awaited<ReturnType<LogObjects['stat']>> = null;
    try {
      remote = await this.objects.stat(key);
    } catch (e) {
      this.o.log.warn('log bucket unreachable when opening a log; starting it in the spool', { key, error: e });
    }
    if (remote?.complete) throw new TandemError('conflict', `log ${key} is already complete`);
    let init: { data: Buffer; uploaded: SpoolFile['state']['uploaded'] } = { data: Buffer.alloc(0), uploaded: null };
    if (remote) {
      const data = await this.objects.readAll(key, remote.generation);
      if (!data) throw new TandemError('conflict', `log ${key} changed while it was being opened; try again`);
      const sha256 = createHash('sha256').update(data).digest('hex');
      init = { data, uploaded: { size: data.length, sha256, generation: remote.generation, complete: false } };
    }
    const l = newSpooledLog(await SpoolFile.open(this.o.spoolDir, key, init), Date.now());
    this.logs.set(key, l);
    return l;
  }

  private async sealSpooled(l: SpooledLog): Promise<LogObjectInfo> {
    if (!l.spool.state.sealed) {
      l.spool.state.sealed = true;
      await l.spool.saveState();
      this.uploader.kick();
    }
    return { key: l.key, size: l.spool.size, sha256: l.spool.sha256(), complete: true };
  }

  /** The final version is in the bucket: the spool copy is no longer needed. */
  private async drop(l: SpooledLog): Promise<void> {
    if (l.writing) return;
    l.removed = true;
    this.logs.delete(l.key);
    await l.spool.remove();
  }

  private spoolFull(): boolean {
    const bytes = this.spoolBytes();
    const full = bytes >= this.spoolLimit;
    if (full && !this.spoolWarned) {
      this.spoolWarned = true;
      this.o.log.warn('log spool is full; writers hold new lines in memory until uploads drain it', { bytes, limitBytes: this.spoolLimit });
    } else if (!full && this.spoolWarned && bytes < this.spoolLimit * 0.9) {
      this.spoolWarned = false;
      this.o.log.info('log spool below its limit again', { bytes, limitBytes: this.spoolLimit });
    }
    return full;
  }

  private spoolBytes(): number {
    let n = 0;
    for (const l of this.logs.values()) n += l.spool.size;
    return n;
  }

  /** What the spool holds and how far behind the bucket is (for status pages and switchover). */
  spoolUsage(): SpoolUsage {
    let pendingUploads = 0;
    let pendingBytes = 0;
    let lastError: string | null = null;
    const conflicts: string[] = [];
    for (const l of this.logs.values()) {
      if (l.spool.state.conflict) conflicts.push(l.key);
      if (!hasPendingUpload(l)) continue;
      pendingUploads++;
      pendingBytes += l.spool.size - (l.spool.state.uploaded?.size ?? 0);
      lastError ??= l.lastError;
    }
    return { bytes: this.spoolBytes(), limitBytes: this.spoolLimit, logs: this.logs.size, pendingUploads, pendingBytes, conflicts, lastError };
  }

  /**
   * Waits until nothing is pending upload and no upload is in flight (so its
   * database record is written too), or throws when the timeout passes.
   */
  async drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const u = this.spoolUsage();
      if (u.pendingUploads === 0 && ![...this.logs.values()].some((l) => l.uploading)) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TandemError('unavailable', `log uploads still pending after ${timeoutMs} ms: ${u.pendingUploads} logs, ${u.pendingBytes} bytes`, {
          details: { pendingUploads: u.pendingUploads, lastError: u.lastError },
        });
      }
      this.uploader.kick();
      await Promise.race([this.uploader.nextSettled(), new Promise((r) => setTimeout(r, Math.min(left, 200)))]);
    }
  }

  async read(key: string, offset: number, opts: LogReadOptions = {}): Promise<LogReadResult> {
    return unavailableOnFailure(key, () => this.readFrom(key, offset, opts));
  }

  private async readFrom(key: string, offset: number, opts: LogReadOptions): Promise<LogReadResult> {
    checkKey(key);
    if (!Number.isInteger(offset) || offset < 0) throw new TandemError('bad_request', 'offset must be a non-negative integer', { field: 'offset' });
    const maxBytes = opts.maxBytes ?? DEFAULT_READ;
    const local = this.logs.get(key);
    if (local && !local.removed) {
      try {
        const buf = await readWholeLines((o, n) => local.spool.read(o, n), offset, maxBytes, local.spool.size);
        const nextOffset = offset + buf.length;
        return { entries: parseLines(buf), nextOffset, complete: local.spool.state.sealed && nextOffset >= local.spool.size };
      } catch (e) {
        if (!local.removed) throw e;
        // Uploaded and dropped from the spool while we read: the bucket has it all.
      }
    }
    for (let attempt = 0; ; attempt++) {
      const remote = await this.objects.stat(key);
      if (!remote) return { entries: [], nextOffset: offset, complete: false };
      if (offset >= remote.size) return { entries: [], nextOffset: offset, complete: remote.complete && offset >= remote.size };
      const buf = await readWholeLines(
        async (o, n) => {
          const b = await this.objects.readRange(key, remote.generation, o, Math.min(remote.size, o + n) - 1);
          if (!b) throw new GenerationGone();
          return b;
        },
        offset,
        maxBytes,
        remote.size,
      ).catch((e: unknown) => {
        if (e instanceof GenerationGone && attempt < 5) return null;
        throw e;
      });
      if (!buf) continue; // a newer checkpoint replaced the generation we were reading
      const nextOffset = offset + buf.length;
      return { entries: parseLines(buf), nextOffset, complete: remote.complete && nextOffset >= remote.size };
    }
  }

  async readRaw(key: string, offset: number, maxBytes: number): Promise<Buffer> {
    checkKey(key);
    const local = this.logs.get(key);
    if (local && !local.removed) return local.spool.read(offset, maxBytes);
    const remote = await this.objects.stat(key);
    if (!remote || offset >= remote.size) return Buffer.alloc(0);
    const b = await this.objects.readRange(key, remote.generation, offset, Math.min(remote.size, offset + maxBytes) - 1);
    if (!b) throw new TandemError('conflict', `log ${key} changed while it was being read; try again`);
    return b;
  }

  async stat(key: string): Promise<LogObjectInfo | null> {
    return unavailableOnFailure(key, () => this.statFrom(key));
  }

  private async statFrom(key: string): Promise<LogObjectInfo | null> {
    checkKey(key);
    const local = this.logs.get(key);
    if (local && !local.removed) return { key, size: local.spool.size, sha256: local.spool.sha256(), complete: local.spool.state.sealed };
    const remote = await this.objects.stat(key);
    if (!remote) return null;
    let sha256 = remote.sha256;
    if (!sha256) {
      const data = await this.objects.readAll(key, remote.generation);
      sha256 = createHash('sha256').update(data ?? Buffer.alloc(0)).digest('hex');
    }
    return { key, size: remote.size, sha256, complete: remote.complete };
  }

  /** Seals a log whose writer is gone; from the spool when this member has it, else from the bucket's last checkpoint. */
  async seal(key: string): Promise<LogObjectInfo> {
    checkKey(key);
    const local = this.logs.get(key);
    if (local && !local.removed) {
      if (local.writing) throw new TandemError('conflict', `log ${key} is open for writing on this member`);
      return this.sealSpooled(local);
    }
    const remote = await this.objects.stat(key);
    if (remote?.complete) return (await this.stat(key))!;
    const l = await this.adopt(key);
    return this.sealSpooled(l);
  }

  async copyTo(key: string, target: LogStore, targetKey = key): Promise<LogObjectInfo> {
    const info = await this.stat(key);
    const w = await target.open(targetKey);
    let offset = 0;
    for (;;) {
      const r = await this.read(key, offset);
      if (!r.entries.length) break;
      for (const e of r.entries) w.append(e);
      await w.flush();
      offset = r.nextOffset;
    }
    if (info?.complete) return w.finish();
    await w.flush();
    return (await target.stat(targetKey))!;
  }

  // --- Whole-object access for log object replication (copier.ts) ---

  /** The live object's bytes and whether it is the finished log, or null when missing. */
  async readVersion(key: string): Promise<{ data: Buffer; complete: boolean; generation: string } | null> {
    checkKey(key);
    for (let attempt = 0; attempt < 5; attempt++) {
      const remote = await this.objects.stat(key);
      if (!remote) return null;
      const data = await this.objects.readAll(key, remote.generation);
      if (data) return { data, complete: remote.complete, generation: remote.generation };
    }
    throw new TandemError('conflict', `log ${key} keeps changing while it is being copied`);
  }

  /**
   * Makes the bucket hold exactly `data` under `key` (a copy from another
   * site's store), unless it already does or holds a newer checkpoint of the
   * same log (newest wins). Returns what was done.
   */
  async writeVersion(key: string, data: Buffer, o: { complete: boolean; sha256: string }): Promise<'written' | 'already' | 'newer'> {
    checkKey(key);
    for (let attempt = 0; ; attempt++) {
      const live = await this.objects.stat(key);
      if (live && live.sha256 === o.sha256 && live.size === data.length && live.complete === o.complete) return 'already';
      if (live && !o.complete && live.size > data.length) return 'newer';
      try {
        await this.objects.put(key, data, { ifGenerationMatch: live?.generation ?? '0', complete: o.complete, sha256: o.sha256, member: this.o.member });
        return 'written';
      } catch (e) {
        // Another copier wrote it meanwhile: look again.
        if (statusOf(e) !== 412 || attempt >= 3) throw e;
      }
    }
  }

  /** The live object's facts (size, generation, completeness, SHA-256 from its metadata), or null. */
  remoteInfo(key: string): Promise<RemoteLog | null> {
    checkKey(key);
    return this.objects.stat(key);
  }

  /** Removes one generation of an object (a copy that failed verification must not stay readable). */
  removeVersion(key: string, generation: string): Promise<void> {
    checkKey(key);
    return this.objects.remove(key, generation);
  }

  /** Whether a server-side rewrite from `other` into this store is possible (same storage service). */
  canRewriteFrom(other: GcsLogStore): boolean {
    return this.o.bucket.storage.apiEndpoint === other.o.bucket.storage.apiEndpoint;
  }

  /** Server-side copy of one generation of `key` from `source`'s bucket into this one (metadata included); returns the new generation. */
  async rewriteFrom(source: GcsLogStore, key: string, generation: string): Promise<string> {
    const from = source.o.bucket.file(source.objectName(key), { generation: generation as unknown as number });
    const [, resp] = await from.copy(this.o.bucket.file(this.objectName(key)));
    const newGeneration = (resp as { resource?: { generation?: string | number } } | undefined)?.resource?.generation;
    if (newGeneration === undefined) throw new Error(`rewrite of ${this.objectName(key)} returned no generation`);
    return String(newGeneration);
  }

  /** The bytes of one generation, or null when it is no longer the live one. */
  readGeneration(key: string, generation: string): Promise<Buffer | null> {
    checkKey(key);
    return this.objects.readAll(key, generation);
  }

  /** Stops uploading and closes the spool; unfinished logs stay there for the next start. */
  async close(): Promise<void> {
    await Promise.all([...this.writers].map((w) => w.close()));
    await this.uploader.stop();
    for (const l of this.logs.values()) await l.spool.close();
    this.logs.clear();
  }
}

class GenerationGone extends Error {}

/** Bucket failures (other than Tandem's own errors) become `unavailable` (HTTP 503) with the key in the message. */
async function unavailableOnFailure<T>(key: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (isTandemError(e)) throw e;
    throw new TandemError('unavailable', `log store unreachable while reading ${key}: ${errorMessage(e)}`, { cause: e });
  }
}

/** Keys are object names below the prefix: no empty, absolute, `..` or control characters. */
function checkKey(key: string): void {
  // eslint-disable-next-line no-control-regex
  if (!key || key.startsWith('/') || key.split('/').includes('..') || /[\u0000-\u001f]/.test(key) || key.length > 900) {
    throw new TandemError('bad_request', `invalid log key ${JSON.stringify(key)}`);
  }
}

/**
 * Reads from `offset` up to about `maxBytes` and cuts after the last newline;
 * when one line is longer than `maxBytes`, keeps reading until it ends (or the
 * object does), so a read never returns a partial line nor gets stuck.
 */
async function readWholeLines(read: (offset: number, n: number) => Promise<Buffer>, offset: number, maxBytes: number, size: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let pos = offset;
  let want = maxBytes;
  while (pos < size) {
    const b = await read(pos, Math.min(want, size - pos));
    if (!b.length) break;
    if (chunks.length === 0) {
      const nl = b.lastIndexOf(10);
      if (nl >= 0) return b.subarray(0, nl + 1);
    } else {
      // Extending one long line: stop at its end.
      const nl = b.indexOf(10);
      if (nl >= 0) return Buffer.concat([...chunks, b.subarray(0, nl + 1)]);
    }
    chunks.push(b);
    pos += b.length;
    want = 64 * 1024;
  }
  return Buffer.alloc(0); // no whole line yet (cannot happen with whole-line writes)
}

