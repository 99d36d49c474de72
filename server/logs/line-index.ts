/**
 * Line numbers for logs that stores address by byte offset.
 *
 * Stores read a log from a byte offset (store.ts); the web UI's big-log view
 * needs "lines 734,000 to 734,200" and "how many lines so far". This index
 * answers both without changing the stores: it scans a log's raw bytes once
 * (`readRaw`, which every store has: filesystem and GCS alike) and keeps the
 * byte offset of every STRIDE-th line start (1,000,000 lines → ~1,000
 * numbers). A seek goes to the mark before the line and counts the remaining
 * (< STRIDE) newlines in one small read.
 *
 * Logs only grow by whole lines and sealing only drops a torn last line that
 * was never counted (only lines ending in "\n" are), so an index stays valid
 * while its log is written: each use extends it from where it stopped. The
 * indexes of the most recently used logs are kept (bounded LRU, per app).
 */
import type { LogStore } from './store.js';

/** A mark every STRIDE lines: a seek reads at most STRIDE lines' bytes past its mark. */
export const STRIDE = 1024;
/** Bytes read per scan step. */
const SCAN_CHUNK = 4 * 1024 * 1024;

interface Index {
  /** marks[i] = byte offset where line i*STRIDE starts (marks[0] = 0). */
  marks: number[];
  /** Whole lines counted so far. */
  lines: number;
  /** Byte offset just after the last whole line counted. */
  scanned: number;
}

export interface LinePosition {
  /** The line number (0-based) found; at most `lines`. */
  line: number;
  /** The byte offset where that line starts (the log's end when line = lines). */
  offset: number;
  /** Whole lines in the log so far. */
  lines: number;
}

export class LineIndexCache {
  private readonly indexes = new Map<string, { index: Index; busy: Promise<unknown> }>();

  constructor(
    private readonly store: LogStore,
    private readonly maxLogs = 64,
  ) {}

  /** Lines so far and the end of the last whole line. */
  async count(key: string): Promise<{ lines: number; bytes: number }> {
    const index = await this.extended(key);
    return { lines: index.lines, bytes: index.scanned };
  }

  /** Where line `line` starts; a line past the end answers the end. */
  async seek(key: string, line: number): Promise<LinePosition> {
    const index = await this.extended(key);
    if (line >= index.lines) return { line: index.lines, offset: index.scanned, lines: index.lines };
    const mark = Math.floor(line / STRIDE);
    let offset = index.marks[mark]!;
    let skip = line - mark * STRIDE;
    while (skip > 0) {
      const buf = await this.store.readRaw(key, offset, 256 * 1024);
      let pos = 0;
      while (skip > 0) {
        const nl = buf.indexOf(10, pos);
        if (nl < 0) break;
        pos = nl + 1;
        skip--;
      }
      if (buf.length === 0) break; // cannot happen below index.lines; never loop forever
      offset += pos === 0 ? buf.length : pos;
    }
    return { line, offset, lines: index.lines };
  }

  /** The index brought up to the log's current end; one scan at a time per log. */
  private async extended(key: string): Promise<Index> {
    let entry = this.indexes.get(key);
    if (entry) this.indexes.delete(key); // re-inserted below: most recently used last
    else entry = { index: { marks: [0], lines: 0, scanned: 0 }, busy: Promise.resolve() };
    this.indexes.set(key, entry);
    while (this.indexes.size > this.maxLogs) this.indexes.delete(this.indexes.keys().next().value!);
    const run = entry.busy.then(() => this.scan(key, entry.index));
    entry.busy = run.catch(() => undefined);
    await run;
    return entry.index;
  }

  private async scan(key: string, index: Index): Promise<void> {
    for (;;) {
      const buf = await this.store.readRaw(key, index.scanned, SCAN_CHUNK);
      let pos = 0;
      for (;;) {
        const nl = buf.indexOf(10, pos);
        if (nl < 0) break;
        pos = nl + 1;
        index.lines++;
        if (index.lines % STRIDE === 0) index.marks.push(index.scanned + pos);
      }
      index.scanned += pos;
      // Stores may cut a read at a line's end (filesystem) or not (GCS): the end for now is a read that adds no whole line.
      if (pos === 0) return;
    }
  }
}
