/**
 * Structured logging on pino: one JSON object per line on stderr (so stdout
 * stays free for command output), or a short human-readable line when stderr
 * is a terminal. Loggers are values passed down, never a global, so each
 * component tags its own lines (`component`, `site`, `executionId`, ...).
 *
 * The line keeps the shape the rest of Tandem reads (test/harness/log.ts,
 * test/scan-secrets.mjs, the demo's log file): `level` as a word, `time` as an
 * ISO string, the bindings, the fields and `msg`; no pid or hostname.
 *
 * Redaction is by key name, not only by path: a key that looks like a secret
 * (`password`, `dbPassword`, `csrfToken`, `authorization`, ...) is replaced
 * wherever a caller puts it at the top of a line's fields or bindings, and
 * pino's redaction paths do the same one level down (`headers.cookie`,
 * `target.password`), so a new field name needs no new path to stay safe.
 *
 * Writes: the long-running server writes stderr asynchronously (pino's
 * SonicBoom, `sync: false`), which pino flushes synchronously on `exit`, so a
 * line logged before `process.exit` is not lost; every other command writes
 * synchronously, so its log lines and its own messages on stderr keep their
 * order. Pretty output is a small formatter below (pino-pretty is not a
 * dependency: one line per record needs no more).
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Keys whose values are never written to a log line, whatever the caller passes. */
const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|credential/i;
/** The same names one level down, as pino redaction paths (pino matches path segments exactly). */
const NESTED_SECRET_PATHS = [
  'pass', 'password', 'passwd', 'passphrase', 'secret', 'token', 'accessToken', 'refreshToken', 'apiToken',
  'authorization', 'Authorization', 'cookie', 'Cookie', 'set-cookie', 'credentials', 'credential',
].map((k) => `*["${k}"]`);
const REDACTED = '[redacted]';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** 'json' or 'pretty'; default: pretty on a TTY, json otherwise. */
  format?: 'json' | 'pretty';
  /** Receives each line without its newline, synchronously (tests, the demo's log file); default stderr. */
  write?: (line: string) => void;
  /** Write stderr asynchronously (flushed at exit); for the long-running server. Default false. */
  async?: boolean;
}

/** Top-level keys: secrets replaced, Errors reduced to message and code (a stack may quote values). */
function redact(fields: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> | null = null;
  for (const k in fields) {
    const v = fields[k];
    let w = v;
    if (SECRET_KEY.test(k)) w = REDACTED;
    else if (v instanceof Error) w = { message: v.message, code: (v as { code?: unknown }).code };
    if (w !== v) (out ??= { ...fields })[k] = w;
  }
  return out ?? fields;
}

interface Settings {
  level: LogLevel;
  format: 'json' | 'pretty';
  write?: (line: string) => void;
  async: boolean;
}

function resolve(opts: LoggerOptions): Settings {
  const envLevel = process.env.TANDEM_LOG_LEVEL as LogLevel | undefined;
  const envFormat = process.env.TANDEM_LOG_FORMAT;
  return {
    level: opts.level ?? (envLevel && LEVELS.includes(envLevel) ? envLevel : 'info'),
    format: opts.format ?? (envFormat === 'json' || envFormat === 'pretty' ? envFormat : process.stderr.isTTY ? 'pretty' : 'json'),
    write: opts.write,
    async: opts.async ?? false,
  };
}

/** `HH:MM:SS.mmm LEVEL message {fields}` from one JSON line. */
function prettyLine(json: string): string {
  const { level, time, msg, ...rest } = JSON.parse(json) as { level: string; time: string; msg: string };
  const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
  return `${time.slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${msg}${extra}`;
}

/**
 * One asynchronous stderr destination per process, however often the CLI
 * reconfigures its logger: two buffers on one descriptor could reorder lines.
 */
let asyncStderr: DestinationStream | null = null;

function destination(s: Settings): DestinationStream {
  const toLines = (write: (line: string) => void): DestinationStream => ({
    write: (chunk: string) => write(s.format === 'pretty' ? prettyLine(chunk) : chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk),
  });
  if (s.write) return toLines(s.write);
  if (s.format === 'pretty' || !s.async) return toLines((line) => process.stderr.write(line + '\n'));
  return (asyncStderr ??= pino.destination({ dest: 2, sync: false }));
}

function rootLogger(s: Settings): PinoLogger {
  return pino(
    {
      level: s.level,
      base: null,
      messageKey: 'msg',
      timestamp: () => `,"time":"${new Date().toISOString()}"`,
      formatters: {
        level: (label) => ({ level: label }),
        log: (o) => redact(o),
      },
      // The `err` key gets no stack either (pino's default serializer would add it).
      serializers: { err: (e: unknown) => (e instanceof Error ? { message: e.message, code: (e as { code?: unknown }).code } : e) },
      redact: { paths: NESTED_SECRET_PATHS, censor: REDACTED },
    },
    destination(s),
  );
}

interface State {
  root: PinoLogger;
}

/**
 * A Logger over whatever root the state holds now: a child made before the
 * CLI read its configuration follows the configured level and format (its
 * pino child is rebuilt, once, when the root changed).
 */
function loggerOver(state: State, base: Record<string, unknown>): Logger {
  let root: PinoLogger | null = null;
  let p: PinoLogger | null = null;
  const current = (): PinoLogger => {
    if (root !== state.root) {
      root = state.root;
      // pino's bindings formatter sees only the root's base, not a child's bindings: redacted here.
      p = Object.keys(base).length ? root.child(redact(base)) : root;
    }
    return p!;
  };
  const at = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    const l = current();
    if (l.isLevelEnabled(lvl)) (fields ? l[lvl](fields, msg) : l[lvl](msg));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (fields) => loggerOver(state, { ...base, ...fields }) };
}

export function createLogger(base: Record<string, unknown> = {}, opts: LoggerOptions = {}): Logger {
  return loggerOver({ root: rootLogger(resolve(opts)) }, base);
}

/**
 * A logger whose level and format can be set once more after it was handed
 * out: the CLI needs a logger before it has read the configuration file, and
 * `log.level` / `log.format` from that file must then apply to every line,
 * including those of children created earlier.
 */
export function createConfigurableLogger(base: Record<string, unknown>, opts: LoggerOptions = {}): { log: Logger; configure(o: LoggerOptions): void } {
  const state: State = { root: rootLogger(resolve(opts)) };
  return {
    log: loggerOver(state, base),
    configure: (o) => {
      state.root = rootLogger(resolve({ ...opts, ...o }));
    },
  };
}

/** A logger that drops everything (for library use in tests that assert on results, not logs). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
