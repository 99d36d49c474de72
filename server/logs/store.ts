/**
 * Execution logs. A log is a sequence of JSON lines (one `LogEntry` each),
 * written incrementally while the execution runs and sealed when it ends.
 *
 * The interface is shaped so that several kinds of store can implement it:
 * the filesystem store (embedded default, `fs-store.ts`) and a Google Cloud
 * Storage store that writes to a local spool and uploads checkpoints. That is
 * why keys are plain strings (object names), reads are by *byte offset* into
 * the JSON-lines text (an offset is only ever the end of a whole line), and
 * every read says whether the log is `complete` (sealed) so a reader knows
 * whether to keep tailing.
 */

/** Rundeck's log levels, most severe first. */
export type LogLevel = 'ERROR' | 'WARN' | 'NORMAL' | 'VERBOSE' | 'DEBUG';
/** Where a line came from: the step's stdout/stderr, or Tandem itself (step start/end, errors). */
export type LogStream = 'stdout' | 'stderr' | 'system';

export interface LogEntry {
  /** ISO-8601 UTC with microseconds, e.g. `2026-11-25T12:00:00.123456Z`. */
  time: string;
  level: LogLevel;
  /** Step context, e.g. `1`, or `2/1` for step 1 of a job referenced by step 2; null for execution-level lines. */
  step: string | null;
  node: string;
  stream: LogStream;
  text: string;
}

/** What a sealed (or checkpointed) log object is: recorded in `tandem.log_objects` so other sites can find it. */
export interface LogObjectInfo {
  key: string;
  /** Bytes of JSON-lines text. */
  size: number;
  /** Hex SHA-256 of those bytes. */
  sha256: string;
  complete: boolean;
}

export interface LogReadResult {
  entries: LogEntry[];
  /** Offset to pass to the next read (end of the last whole line returned). */
  nextOffset: number;
  /** True when the log is sealed and `nextOffset` is its end: nothing more will come. */
  complete: boolean;
}

export interface LogReadOptions {
  /** Upper bound on the bytes read in one call (default 1 MiB); the result always ends on a whole line. */
  maxBytes?: number;
}

/**
 * The writing side of one log, owned by the execution that produces it.
 * `append` only buffers (no I/O per line); the writer flushes by itself when
 * its buffer grows past a threshold and at least every `flushIntervalMs`
 * (default 1 s), so a crash loses at most the last second.
 */
export interface LogWriter {
  readonly key: string;
  append(entry: LogEntry): void;
  /** Bytes appended but not yet written; callers pause their producers when this is high (bounded memory). */
  readonly pendingBytes: number;
  /** Write everything appended so far. */
  flush(): Promise<void>;
  /** Flush, seal the log (complete) and return its size and checksum. The writer is unusable afterwards. */
  finish(): Promise<LogObjectInfo>;
}

export interface LogStore {
  /** `filesystem`, `gcs`, ... (recorded beside each log object). */
  readonly kind: string;
  /** Create a new log, or reopen an unsealed one to append after the last whole line. */
  open(key: string): Promise<LogWriter>;
  /** Entries from `offset` (0 = start). A missing log reads as empty and not complete. */
  read(key: string, offset: number, opts?: LogReadOptions): Promise<LogReadResult>;
  /** Size/checksum/complete of a log, or null when it does not exist. */
  stat(key: string): Promise<LogObjectInfo | null>;
  /**
   * Seal a log whose writer is gone (its member crashed): drop a torn last
   * line, mark it complete and return what it holds. Idempotent.
   */
  seal(key: string): Promise<LogObjectInfo>;
  /** Copy a log (sealed or not) to another store, under `targetKey` (default: same key). */
  copyTo(key: string, target: LogStore, targetKey?: string): Promise<LogObjectInfo>;
  /** Raw bytes from an offset (used by copyTo between different kinds of store). */
  readRaw(key: string, offset: number, maxBytes: number): Promise<Buffer>;
  /** Release resources (open files, timers). */
  close(): Promise<void>;
}

/** `2026-11-25T12:00:00.123456Z`: milliseconds from Date plus microseconds from the monotonic clock. */
export function logTime(now: Date = new Date(), micros?: number): string {
  const us = micros ?? Number(process.hrtime.bigint() / 1000n) % 1000;
  return now.toISOString().slice(0, 23) + String(us).padStart(3, '0') + 'Z';
}

/**
 * A `logTime` for one busy producer: formatting a Date is the costly part and
 * a step can print many lines per millisecond, so the formatted millisecond
 * is reused until the clock moves on.
 */
export function logClock(): () => string {
  let lastMs = -1;
  let prefix = '';
  return () => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      prefix = new Date(ms).toISOString().slice(0, 23);
    }
    const us = Number(process.hrtime.bigint() / 1000n) % 1000;
    return prefix + (us < 10 ? '00' : us < 100 ? '0' : '') + us + 'Z';
  };
}

/** Serialise one entry as its JSON line (with the trailing newline). */
export function entryLine(e: LogEntry): string {
  // Same text as JSON.stringify(e) + '\n' with the keys in this order, built by hand because this runs
  // once per line of output (hundreds of thousands per second) and only the strings need escaping.
  return '{"time":' + JSON.stringify(e.time) + entryMiddle(e) + JSON.stringify(e.text) + '}\n';
}

/** The part of an entry's line between its time and its text. */
function entryMiddle(e: LogEntry): string {
  return (
    ',"level":' + JSON.stringify(e.level) +
    ',"step":' + (e.step === null ? 'null' : JSON.stringify(e.step)) +
    ',"node":' + JSON.stringify(e.node) +
    ',"stream":' + JSON.stringify(e.stream) +
    ',"text":'
  );
}

/**
 * `entryLine` for one writer: the same text, but the level/step/node/stream
 * part is built once and reused while it stays the same, which it does for
 * every line of a step's stream (a line then costs two JSON.stringify calls
 * instead of six, the largest part of appending one).
 */
export function entryLineSerializer(): (e: LogEntry) => string {
  let level: LogLevel | undefined;
  let step: string | null | undefined;
  let node: string | undefined;
  let stream: LogStream | undefined;
  let middle = '';
  return (e) => {
    if (e.level !== level || e.step !== step || e.node !== node || e.stream !== stream) {
      ({ level, step, node, stream } = e);
      middle = entryMiddle(e);
    }
    return '{"time":' + JSON.stringify(e.time) + middle + JSON.stringify(e.text) + '}\n';
  };
}

/** Parse whole JSON lines of `buf` (which must end with `\n` or be empty). */
export function parseLines(buf: Buffer): LogEntry[] {
  const out: LogEntry[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(10, start);
    if (nl < 0) break;
    if (nl > start) out.push(JSON.parse(buf.toString('utf8', start, nl)) as LogEntry);
    start = nl + 1;
  }
  return out;
}
