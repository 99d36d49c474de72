/**
 * Filesystem LogStore (the embedded default). A log `key` is a relative path
 * under the store's directory; the JSON lines live in that file and a sealed
 * log also has `<key>.sealed` holding `{size, sha256}`.
 *
 * Writes are batched: `append` only serialises into an in-memory buffer (the
 * UTF-8 bytes go straight into a Buffer: no joined string to encode again);
 * the buffer is written with one `write()` when it passes `batchBytes` or
 * when the flush timer fires (every `flushIntervalMs`, default 1 s). No fsync per
 * line: a crash of the process loses at most the last unflushed second, and
 * whatever was written is kept (torn last lines are dropped on reopen/seal).
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { TandemError } from '../errors.js';
import {
  entryLineSerializer,
  parseLines,
  type LogEntry,
  type LogObjectInfo,
  type LogReadOptions,
  type LogReadResult,
  type LogStore,
  type LogWriter,
} from './store.js';

export interface FsLogStoreOptions {
  dir: string;
  /** Write when this many bytes are buffered (default 64 KiB). */
  batchBytes?: number;
  /** Write at least this often while lines are buffered (default 1000 ms). */
  flushIntervalMs?: number;
}

interface Sealed {
  size: number;
  sha256: string;
}

const DEFAULT_READ = 1024 * 1024;

export class FsLogStore implements LogStore {
  readonly kind = 'filesystem';
  readonly dir: string;
  private readonly batchBytes: number;
  private readonly flushIntervalMs: number;
  private readonly writers = new Set<FsLogWriter>();
  /** Directories this store has made (or found), so that opening a log needs no mkdir. */
  private readonly dirs = new Set<string>();

  constructor(opts: FsLogStoreOptions) {
    this.dir = path.resolve(opts.dir);
    this.batchBytes = opts.batchBytes ?? 64 * 1024;
    this.flushIntervalMs = opts.flushIntervalMs ?? 1000;
  }

  /** Absolute path of a key; keys may not escape the store's directory. */
  pathOf(key: string): string {
    const norm = path.posix.normalize(key);
    if (!key || norm.startsWith('..') || path.isAbsolute(norm) || norm.includes('\0') || norm.endsWith('.sealed')) {
      throw new TandemError('bad_request', `invalid log key ${JSON.stringify(key)}`);
    }
    return path.join(this.dir, norm);
  }

  private async sealedInfo(key: string): Promise<Sealed | null> {
    try {
      return JSON.parse(await readFile(this.pathOf(key) + '.sealed', 'utf8')) as Sealed;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async open(key: string): Promise<LogWriter> {
    const file = this.pathOf(key);
    if (await this.sealedInfo(key)) throw new TandemError('conflict', `log ${key} is already complete`);
    const { handle, size, hash } = await this.openForAppend(file);
    const w = new FsLogWriter(key, handle, size, hash, this.batchBytes, this.flushIntervalMs, async (info) => {
      await writeFile(file + '.sealed.tmp', JSON.stringify({ size: info.size, sha256: info.sha256 }));
      await rename(file + '.sealed.tmp', file + '.sealed');
      this.writers.delete(w);
    });
    this.writers.add(w);
    return w;
  }

  /**
   * A new log is created with one `open` ('ax': fails if it exists) in a
   * directory this store already made, instead of a read of the file to
   * trim, a mkdir and an open: each is a round trip to the thread pool, and
   * every execution opens a log. An existing file is a log reopened after a
   * crash: keep whole lines only, and hash what is kept.
   */
  private async openForAppend(file: string, again = false): Promise<{ handle: FileHandle; size: number; hash: Hash }> {
    const dir = path.dirname(file);
    if (!this.dirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      this.dirs.add(dir);
    }
    try {
      return { handle: await open(file, 'ax'), size: 0, hash: createHash('sha256') };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && !again) {
        // The directory was removed since this store made it.
        this.dirs.delete(dir);
        return this.openForAppend(file, true);
      }
      if (code !== 'EEXIST') throw e;
    }
    const { size, hash } = await trimToWholeLines(file);
    return { handle: await open(file, 'a'), size, hash };
  }

  async read(key: string, offset: number, opts: LogReadOptions = {}): Promise<LogReadResult> {
    if (!Number.isInteger(offset) || offset < 0) throw new TandemError('bad_request', 'offset must be a non-negative integer', { field: 'offset' });
    // Read the seal first: if it exists, the file is final and the size is known.
    const sealed = await this.sealedInfo(key);
    const buf = await this.readWhole(key, offset, opts.maxBytes ?? DEFAULT_READ, sealed?.size);
    const nextOffset = offset + buf.length;
    return { entries: parseLines(buf), nextOffset, complete: !!sealed && nextOffset >= sealed.size };
  }

  /** Bytes from `offset` up to about `maxBytes`, cut after the last newline (extended to finish one long line). */
  private async readWhole(key: string, offset: number, maxBytes: number, limit?: number): Promise<Buffer> {
    let fh: FileHandle;
    try {
      fh = await open(this.pathOf(key), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return Buffer.alloc(0);
      throw e;
    }
    try {
      const chunks: Buffer[] = [];
      let pos = offset;
      let total = 0;
      for (;;) {
        let want = Math.max(maxBytes - total, 64 * 1024);
        if (limit !== undefined) want = Math.min(want, limit - pos);
        if (want <= 0) break;
        const b = Buffer.allocUnsafe(want);
        const { bytesRead } = await fh.read(b, 0, want, pos);
        if (bytesRead === 0) break;
        chunks.push(b.subarray(0, bytesRead));
        pos += bytesRead;
        total += bytesRead;
        const last = chunks[chunks.length - 1]!;
        if (total >= maxBytes && last.lastIndexOf(10) >= 0) break;
        if (bytesRead < want) break;
      }
      const all = Buffer.concat(chunks);
      const nl = all.lastIndexOf(10);
      return nl < 0 ? Buffer.alloc(0) : all.subarray(0, nl + 1);
    } finally {
      await fh.close();
    }
  }

  async readRaw(key: string, offset: number, maxBytes: number): Promise<Buffer> {
    return this.readWhole(key, offset, maxBytes);
  }

  async stat(key: string): Promise<LogObjectInfo | null> {
    const sealed = await this.sealedInfo(key);
    if (sealed) return { key, size: sealed.size, sha256: sealed.sha256, complete: true };
    try {
      const s = await stat(this.pathOf(key));
      const hash = createHash('sha256').update(await readFile(this.pathOf(key))).digest('hex');
      return { key, size: s.size, sha256: hash, complete: false };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async seal(key: string): Promise<LogObjectInfo> {
    const sealed = await this.sealedInfo(key);
    if (sealed) return { key, ...sealed, complete: true };
    const w = await this.open(key); // trims a torn last line
    return w.finish();
  }

  async copyTo(key: string, target: LogStore, targetKey = key): Promise<LogObjectInfo> {
    const sealed = await this.sealedInfo(key);
    const w = await target.open(targetKey);
    let offset = 0;
    for (;;) {
      const buf = await this.readWhole(key, offset, DEFAULT_READ, sealed?.size);
      if (!buf.length) break;
      for (const e of parseLines(buf)) w.append(e);
      await w.flush();
      offset += buf.length;
    }
    if (sealed) return w.finish();
    await w.flush();
    return (await target.stat(targetKey))!;
  }

  async close(): Promise<void> {
    await Promise.all([...this.writers].map((w) => w.close()));
  }
}

async function trimToWholeLines(file: string): Promise<{ size: number; hash: Hash }> {
  const hash = createHash('sha256');
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { size: 0, hash };
    throw e;
  }
  const keep = buf.lastIndexOf(10) + 1;
  if (keep < buf.length) await truncate(file, keep);
  hash.update(buf.subarray(0, keep));
  return { size: keep, hash };
}

class FsLogWriter implements LogWriter {
  /** Lines not yet handed to a write: `buf[0, used)`. Allocated on the first append after a flush. */
  private buf: Buffer | undefined;
  private used = 0;
  private queued = 0;
  private readonly line = entryLineSerializer();
  private writing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private failed: Error | undefined;
  private done = false;

  constructor(
    readonly key: string,
    private readonly fh: FileHandle,
    private size: number,
    private readonly hash: Hash,
    private readonly batchBytes: number,
    private readonly flushIntervalMs: number,
    private readonly onSeal: (info: LogObjectInfo) => Promise<void>,
  ) {}

  /** Appended but not yet on disk: still buffered, plus batches queued behind a write in progress. */
  get pendingBytes(): number {
    return this.used + this.queued;
  }

  append(entry: LogEntry): void {
    if (this.done) throw new Error(`log ${this.key} is finished`);
    const line = this.line(entry);
    // A UTF-16 code unit takes at most 3 bytes in UTF-8.
    const most = line.length * 3;
    if (!this.buf || this.buf.length - this.used < most) {
      if (this.used) this.queueWrite();
      if (most > this.bufferSize()) {
        // A line longer than a whole buffer is written as its own batch.
        this.queueWrite(Buffer.from(line, 'utf8'));
        this.scheduleFlush();
        return;
      }
      this.buf = Buffer.allocUnsafe(this.bufferSize());
    }
    this.used += this.buf.write(line, this.used, 'utf8');
    if (this.used >= this.batchBytes) this.queueWrite();
    this.scheduleFlush();
  }

  /** Room for a full batch plus the longest line a step's output produces (64 Ki characters, output.ts). */
  private bufferSize(): number {
    return this.batchBytes + 192 * 1024;
  }

  private scheduleFlush(): void {
    if (this.used) this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.flushIntervalMs).unref();
  }

  /** Hand the buffered bytes (or `extra`) to the write chain. */
  private queueWrite(extra?: Buffer): void {
    let chunk: Buffer;
    if (extra) {
      chunk = extra;
    } else {
      if (!this.buf || !this.used) return;
      chunk = this.buf.subarray(0, this.used);
      this.buf = undefined;
      this.used = 0;
    }
    this.queued += chunk.length;
    this.writing = this.writing.then(async () => {
      try {
        if (this.failed) return;
        let off = 0;
        while (off < chunk.length) off += (await this.fh.write(chunk, off, chunk.length - off)).bytesWritten;
        this.hash.update(chunk);
        this.size += chunk.length;
      } catch (e) {
        this.failed = e as Error;
      } finally {
        this.queued -= chunk.length;
      }
    });
  }

  /** Writes are chained so they land in append order; an I/O error is reported to every later flush. */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.queueWrite();
    return this.writing.then(() => {
      if (this.failed) throw this.failed;
    });
  }

  async finish(): Promise<LogObjectInfo> {
    await this.flush();
    this.done = true;
    await this.fh.close();
    const info: LogObjectInfo = { key: this.key, size: this.size, sha256: this.hash.digest('hex'), complete: true };
    await this.onSeal(info);
    return info;
  }

  /** Store shutdown: write what is buffered and close without sealing (the log stays resumable). */
  async close(): Promise<void> {
    if (this.done) return;
    await this.flush().catch(() => undefined);
    this.done = true;
    await this.fh.close().catch(() => undefined);
  }
}
