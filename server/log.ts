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

export function createLogger(base: Record<string, unknown> = {}, opts: LoggerOptions = {}): Logger {
  const envLevel = process.env.TANDEM_LOG_LEVEL as LogLevel | undefined;
  const level: LogLevel = opts.level ?? (envLevel && envLevel in rank ? envLevel : 'info');
  const format = opts.format ?? (process.env.TANDEM_LOG_FORMAT === 'json' || !process.stderr.isTTY ? 'json' : 'pretty');
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));

  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (rank[lvl] < rank[level]) return;
    const rec = { level: lvl, time: new Date().toISOString(), ...redact(base), msg, ...(fields ? redact(fields) : {}) };
    if (format === 'json') {
      write(JSON.stringify(rec));
    } else {
      const { level: _l, time, msg: m, ...rest } = rec;
      const extra = Object.keys(rest).length ? ' ' + JSON.stringify(rest) : '';
      write(`${time.slice(11, 23)} ${lvl.toUpperCase().padEnd(5)} ${m}${extra}`);
    }
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, { level, format, write }),
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
