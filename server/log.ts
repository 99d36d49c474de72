/**
 * Structured logging: one JSON object per line on stderr (so stdout stays
 * free for command output), or a short human-readable line when stderr is a
 * terminal. Loggers are values passed down, never a global, so each component
 * tags its own lines (`component`, `site`, `executionId`, ...).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Keys whose values are never written to a log line, whatever the caller passes. */
const SECRET_KEY = /pass(word)?|secret|token|authorization|cookie|credential/i;

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
  write?: (line: string) => void;
}

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    if (SECRET_KEY.test(k)) out[k] = '[redacted]';
    else if (v instanceof Error) out[k] = { message: v.message, code: (v as { code?: unknown }).code };
    else out[k] = v;
  }
  return out;
}

interface Settings {
  level: LogLevel;
  format: 'json' | 'pretty';
  write: (line: string) => void;
}

function resolve(opts: LoggerOptions): Settings {
  const envLevel = process.env.TANDEM_LOG_LEVEL as LogLevel | undefined;
  const envFormat = process.env.TANDEM_LOG_FORMAT;
  return {
    level: opts.level ?? (envLevel && envLevel in rank ? envLevel : 'info'),
    format: opts.format ?? (envFormat === 'json' || envFormat === 'pretty' ? envFormat : process.stderr.isTTY ? 'pretty' : 'json'),
    write: opts.write ?? ((line: string) => process.stderr.write(line + '\n')),
  };
}

function emit(s: Settings, base: Record<string, unknown>, lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void {
  if (rank[lvl] < rank[s.level]) return;
  const rec = { level: lvl, time: new Date().toISOString(), ...redact(base), msg, ...(fields ? redact(fields) : {}) };
  if (s.format === 'json') {
    s.write(JSON.stringify(rec));
  } else {
    const { level: _l, time, msg: m, ...rest } = rec;
    const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
    s.write(`${time.slice(11, 23)} ${lvl.toUpperCase().padEnd(5)} ${m}${extra}`);
  }
}

function loggerOver(settings: () => Settings, base: Record<string, unknown>): Logger {
  return {
    debug: (m, f) => emit(settings(), base, 'debug', m, f),
    info: (m, f) => emit(settings(), base, 'info', m, f),
    warn: (m, f) => emit(settings(), base, 'warn', m, f),
    error: (m, f) => emit(settings(), base, 'error', m, f),
    child: (fields) => loggerOver(settings, { ...base, ...fields }),
  };
}

export function createLogger(base: Record<string, unknown> = {}, opts: LoggerOptions = {}): Logger {
  const s = resolve(opts);
  return loggerOver(() => s, base);
}

/**
 * A logger whose level and format can be set once more after it was handed
 * out: the CLI needs a logger before it has read the configuration file, and
 * `log.level` / `log.format` from that file must then apply to every line,
 * including those of children created earlier.
 */
export function createConfigurableLogger(base: Record<string, unknown>, opts: LoggerOptions = {}): { log: Logger; configure(o: LoggerOptions): void } {
  let s = resolve(opts);
  return {
    log: loggerOver(() => s, base),
    configure: (o) => {
      s = resolve({ ...opts, ...o });
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
