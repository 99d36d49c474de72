/**
 * The demo's log: every line (info and up, JSON) goes to DIR/demo.log; the
 * terminal gets only what the CLI's logger lets through (warnings and errors
 * unless --log-level or TANDEM_LOG_LEVEL asks for more, see replicator/cli/demo.ts).
 * Start-up alone writes some 40 info lines (migrations, the initial copy,
 * listeners); on stderr, in a file or a pipe shared with stdout, they would
 * bury the summary of URLs, login and commands the user needs.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { createLogger, type Logger } from '../../server/log.js';

/** Both loggers get every line; each applies its own level and format. */
function tee(a: Logger, b: Logger): Logger {
  return {
    debug: (m, f) => (a.debug(m, f), b.debug(m, f)),
    info: (m, f) => (a.info(m, f), b.info(m, f)),
    warn: (m, f) => (a.warn(m, f), b.warn(m, f)),
    error: (m, f) => (a.error(m, f), b.error(m, f)),
    child: (fields) => tee(a.child(fields), b.child(fields)),
  };
}

export interface DemoLog {
  log: Logger;
  /** Closes the file; lines logged afterwards (a component still stopping) reach only the terminal's logger. */
  close(): void;
}

/** Appends to `file` (kept between runs, like the rest of the demo directory); synchronous writes, so nothing is lost at exit. */
export function openDemoLog(file: string, terminal: Logger, base: Record<string, unknown> = { component: 'demo' }): DemoLog {
  let fd: number | null = openSync(file, 'a', 0o600);
  const toFile = createLogger(base, {
    level: 'info',
    format: 'json',
    write: (line) => {
      if (fd !== null) writeSync(fd, line + '\n');
    },
  });
  return {
    log: tee(toFile, terminal),
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
