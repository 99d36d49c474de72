/**
 * The local spool of the GCS log store: every line of a log is written here
 * first (one append-only file per log) and uploaded from here, so nothing is
 * lost while the bucket is unreachable and a restarted member finds what it
 * still has to upload.
 *
 * Per log: `<name>.log` (the JSON lines, whole lines only) and `<name>.json`
 * (a small state record: sealed or not, what was last uploaded and at which
 * generation, a conflict if another writer took the object over). The state
 * is replaced atomically (write + rename); the data file is only appended.
 */
import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, truncate, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export interface UploadedVersion {
  size: number;
  sha256: string;
  generation: string;
  complete: boolean;
  /** Components of the object in the bucket (it grows by one per appended checkpoint); absent in older state files: 1. */
  components?: number;
}

export interface SpoolState {
  key: string;
  /** No more lines will be appended (the log is finished). */
  sealed: boolean;
  /** The last version known to be in the bucket, or null before the first upload. */
  uploaded: UploadedVersion | null;
  /** Why uploads stopped for good (another writer replaced the object), or null. */
  conflict: string | null;
}

/** File name stem of a key: readable when short, a hash when too long for a file name. */
function stemOf(key: string): string {
  const enc = encodeURIComponent(key);
  return enc.length <= 180 ? enc : 'h-' + createHash('sha256').update(key).digest('hex');
}

export class SpoolFile {
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    readonly dataPath: string,
    private readonly statePath: string,
    private readonly fh: FileHandle,
    private hash: Hash,
    private bytes: number,
    readonly state: SpoolState,
  ) {}

  /** Bytes of whole lines in the spool. */
  get size(): number {
    return this.bytes;
  }

  /** Hex SHA-256 of the `size` bytes in the spool (consistent with `size` when read in the same tick). */
  sha256(): string {
    return this.hash.copy().digest('hex');
  }

  /**
   * Creates a spool file holding `initial` (e.g. a checkpoint downloaded from
   * the bucket), or opens the existing one: a torn last line left by a crash
   * is cut off, and the checksum recomputed.
   */
  static async open(dir: string, key: string, init?: { data: Buffer; uploaded: UploadedVersion | null }): Promise<SpoolFile> {
    await mkdir(dir, { recursive: true });
    const stem = stemOf(key);
    const dataPath = path.join(dir, `${stem}.log`);
    const statePath = path.join(dir, `${stem}.json`);
    let state: SpoolState;
    let content: Buffer;
    if (init) {
      await writeFile(dataPath, init.data);
      content = init.data;
      state = { key, sealed: false, uploaded: init.uploaded, conflict: null };
    } else {
      state = (await readJsonOrNull<SpoolState>(statePath)) ?? { key, sealed: false, uploaded: null, conflict: null };
      content = await readFile(dataPath).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return Buffer.alloc(0);
        throw e;
      });
    }
    const keep = content.lastIndexOf(10) + 1;
    if (keep < content.length) {
      await truncate(dataPath, keep).catch(() => undefined);
      content = content.subarray(0, keep);
    }
    const hash = createHash('sha256').update(content);
    const fh = await open(dataPath, 'a+');
    const f = new SpoolFile(dataPath, statePath, fh, hash, content.length, state);
    await f.saveState();
    return f;
  }

  /** Appends whole lines. Size and checksum change together, after the write. */
  async append(buf: Buffer): Promise<void> {
    let off = 0;
    while (off < buf.length) off += (await this.fh.write(buf, off, buf.length - off)).bytesWritten;
    this.hash.update(buf);
    this.bytes += buf.length;
  }

  /** Bytes [offset, offset + length) (fewer at the end of the file). */
  async read(offset: number, length: number): Promise<Buffer> {
    const want = Math.max(0, Math.min(length, this.bytes - offset));
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const { bytesRead } = await this.fh.read(buf, got, want - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  }

  /** Writes the state record; calls are serialised so a slower earlier write never lands last. */
  saveState(): Promise<void> {
    const next = this.saving.then(async () => {
      await writeFile(this.statePath + '.tmp', JSON.stringify(this.state));
      await rename(this.statePath + '.tmp', this.statePath);
    });
    this.saving = next.catch(() => undefined);
    return next;
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }

  /** Closes and deletes both files (the log is safely in the bucket). */
  async remove(): Promise<void> {
    await this.close();
    await rm(this.dataPath, { force: true });
    await rm(this.statePath, { force: true });
  }
}

/** Keys of every log in a spool directory (from their state files). */
export async function listSpool(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const keys: string[] = [];
  for (const n of names.filter((n) => n.endsWith('.json')).sort()) {
    const s = await readJsonOrNull<SpoolState>(path.join(dir, n));
    if (s?.key) keys.push(s.key);
  }
  return keys;
}

async function readJsonOrNull<T>(file: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
