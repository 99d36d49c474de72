/**
 * Turns a step's stdout/stderr byte streams into log entries: split into
 * lines (a partial line waits for its end; very long lines are cut), secure
 * option values masked, appended to the execution's log writer. When the
 * writer has too much unwritten output the stream is paused until it has
 * flushed, so a step that prints fast cannot make the server's memory grow
 * without bound.
 */
import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';
import { logClock, type LogLevel, type LogStream, type LogWriter } from '../logs/store.js';

const MAX_LINE = 64 * 1024;
/** Unwritten log bytes of one execution above which its step's output is paused until they are written. */
const HIGH_WATER = 256 * 1024;

/** Replaces secure values in a text; `secrets` is what it masks, longest first. */
export type Masker = ((text: string) => string) & { readonly secrets: readonly string[] };

/** Replace every secure value by `****` (longest first, so a value containing another is masked whole). */
export function makeMasker(secrets: readonly string[]): Masker {
  const list = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  const mask = (text: string) => {
    for (const s of list) if (text.includes(s)) text = text.split(s).join('****');
    return text;
  };
  return Object.assign(mask, { secrets: list });
}

/**
 * Where to cut a line that is too long, at or before `max`, so that no secure
 * value is split across the cut: a value cut in two is masked in neither half.
 * The cut moves back to the start of any value that crosses it (`text` holds
 * at least `max` + the longest value's length, so every such value is whole
 * in it). Only when values overlap back to the line's start is the cut moved
 * forward past the value instead (the piece is then a little longer than `max`).
 */
export function safeCut(text: string, max: number, secrets: readonly string[]): number {
  let cut = max;
  for (let moved = true; moved && cut > 0; ) {
    moved = false;
    for (const s of secrets) {
      // The last occurrence that starts before the cut and ends after it.
      const from = text.lastIndexOf(s, cut - 1);
      if (from >= 0 && from + s.length > cut) {
        cut = from;
        moved = true;
      }
    }
  }
  if (cut > 0) return cut;
  let end = max;
  for (const s of secrets) {
    const from = text.lastIndexOf(s, max - 1);
    if (from >= 0 && from + s.length > end) end = from + s.length;
  }
  return end;
}

export interface CaptureOptions {
  writer: LogWriter;
  step: string;
  node: string;
  mask: Masker;
}

/** Consume a stream until it ends; resolves once its last line is appended. */
export function captureStream(stream: Readable, kind: Exclude<LogStream, 'system'>, o: CaptureOptions): Promise<void> {
  const level: LogLevel = kind === 'stderr' ? 'WARN' : 'NORMAL';
  const decoder = new StringDecoder('utf8');
  let partial = '';
  const longest = o.mask.secrets[0]?.length ?? 0;
  const now = logClock();
  const emit = (text: string) => {
    o.writer.append({ time: now(), level, step: o.step, node: o.node, stream: kind, text: o.mask(text) });
  };
  /**
   * Emit pieces of at most MAX_LINE characters while more than `keep` remain (mask before cutting: a piece is cut
   * off only when the text after the cut holds the longest secure value, so that a value crossing the cut is seen
   * whole and the cut moves before it, see safeCut); returns the rest.
   */
  const cutLong = (s: string, keep: number): string => {
    while (s.length > keep) {
      const cut = safeCut(s, MAX_LINE, o.mask.secrets);
      emit(s.slice(0, cut));
      s = s.slice(cut);
    }
    return s;
  };
  const push = (chunk: string) => {
    let s = partial + chunk;
    let start = 0;
    for (;;) {
      const nl = s.indexOf('\n', start);
      if (nl < 0) break;
      let line = s.slice(start, nl);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      // A complete line is cut like one still arriving: where it is cut must not depend on how it was read.
      const rest = cutLong(line, MAX_LINE);
      if (rest || !line) emit(rest);
      start = nl + 1;
    }
    partial = cutLong(s.slice(start), MAX_LINE + longest);
  };
  return new Promise<void>((resolve, reject) => {
    let failed = false;
    stream.on('data', (buf: Buffer) => {
      if (failed) return;
      try {
        push(decoder.write(buf));
      } catch (e) {
        // The log cannot take more (closed or broken): stop reading, report once.
        failed = true;
        stream.destroy();
        reject(e);
        return;
      }
      if (o.writer.pendingBytes > HIGH_WATER) {
        stream.pause();
        o.writer.flush().then(
          () => stream.resume(),
          (e) => {
            stream.destroy();
            reject(e);
          },
        );
      }
    });
    stream.once('error', reject);
    stream.once('close', () => {
      if (failed) return;
      try {
        push(decoder.end());
        // The rest is at most MAX_LINE + the longest value: cut like a long line, values kept whole.
        partial = cutLong(partial, MAX_LINE);
        if (partial) emit(partial);
        partial = '';
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}
