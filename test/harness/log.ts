/**
 * The logger tests hand to the components they start in-process (job
 * servers, replicators, copiers). Silent by default, so a test's output stays
 * its assertions. Two environment variables open it up:
 * - TANDEM_TEST_LOG_DIR (.ci/run sets it): every line down to debug goes, as
 *   JSON, to a file per test process in that directory. After a full run
 *   .ci/run searches those files for the fixture passwords and secure values
 *   (secrets are never logged: test/scan-secrets.mjs), and a failure can be read there
 *   afterwards. Written synchronously, so a test process that dies keeps
 *   every line it wrote.
 * - CI or TANDEM_TEST_DEBUG: errors (warnings too with TANDEM_TEST_DEBUG=warn,
 *   everything with =debug) also go to stderr, into the test run's output.
 */
import { mkdirSync, openSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createLogger, silentLogger, type LogLevel, type Logger } from '../../server/log.js';

function tee(loggers: Logger[]): Logger {
  if (loggers.length === 0) return silentLogger;
  if (loggers.length === 1) return loggers[0]!;
  return {
    debug: (msg, f) => loggers.forEach((l) => l.debug(msg, f)),
    info: (msg, f) => loggers.forEach((l) => l.info(msg, f)),
    warn: (msg, f) => loggers.forEach((l) => l.warn(msg, f)),
    error: (msg, f) => loggers.forEach((l) => l.error(msg, f)),
    child: (fields) => tee(loggers.map((l) => l.child(fields))),
  };
}

function makeTestLog(env: NodeJS.ProcessEnv): Logger {
  const test = basename(process.argv[1] ?? 'test').replace(/\.test\.ts$/, '');
  const loggers: Logger[] = [];
  if (env.TANDEM_TEST_LOG_DIR) {
    mkdirSync(env.TANDEM_TEST_LOG_DIR, { recursive: true });
    const fd = openSync(join(env.TANDEM_TEST_LOG_DIR, `${test}-${process.pid}.jsonl`), 'a');
    loggers.push(createLogger({ test }, { level: 'debug', format: 'json', write: (line) => writeSync(fd, line + '\n') }));
  }
  const debug = env.TANDEM_TEST_DEBUG;
  if (debug || env.CI) {
    const level: LogLevel = debug === 'warn' || debug === 'debug' || debug === 'info' ? debug : 'error';
    loggers.push(createLogger({ test }, { level, format: 'json' }));
  }
  return tee(loggers);
}

export const testLog: Logger = makeTestLog(process.env);
