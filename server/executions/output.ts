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

/** Replace every secure value by `****` (longest first, so a value containing another is masked whole). */
export function makeMasker(secrets: string[]): (text: string) => string {
  const list = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  if (!list.length) return (t) => t;
  return (text) => {
    for (const s of list) if (text.includes(s)) text = text.split(s).join('****');
    return text;
  };
}

export interface CaptureOptions {
  writer: LogWriter;
  step: string;
  node: string;
  mask: (text: string) => string;
}

/** Consume a stream until it ends; resolves once its last line is appended. */
export function captureStream(stream: Readable, kind: Exclude<LogStream, 'system'>, o: CaptureOptions): Promise<void> {
  const level: LogLevel = kind === 'stderr' ? 'WARN' : 'NORMAL';
  const decoder = new StringDecoder('utf8');
  let partial = '';
  const now = logClock();
  const emit = (text: string) => {
    o.writer.append({ time: now(), level, step: o.step, node: o.node, stream: kind, text: o.mask(text) });
  };
  const push = (chunk: string) => {
    let s = partial + chunk;
    let start = 0;
    for (;;) {
      const nl = s.indexOf('\n', start);
      if (nl < 0) break;
      let line = s.slice(start, nl);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      emit(line);
      start = nl + 1;
    }
    s = s.slice(start);
    while (s.length > MAX_LINE) {
      emit(s.slice(0, MAX_LINE));
      s = s.slice(MAX_LINE);
    }
    partial = s;
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
        if (partial) emit(partial);
        partial = '';
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}
