// An error on an idle pooled connection: a terminated session (57P01, what every failover, rejoin and stop does
// on purpose) is logged at info; anything else stays a warning. Pure logic, no server.
import t from 'tap';
import { logIdleConnectionError, SQLSTATE } from '../../server/db/sqlstate.js';
import type { Logger } from '../../server/log.js';

function capture(): { log: Logger; lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  const log: Logger = {
    debug: (msg) => lines.push({ level: 'debug', msg }),
    info: (msg) => lines.push({ level: 'info', msg }),
    warn: (msg) => lines.push({ level: 'warn', msg }),
    error: (msg) => lines.push({ level: 'error', msg }),
    child: () => log,
  };
  return { log, lines };
}

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

t.test('57P01 (terminated by an administrator command) is info', async (t) => {
  const { log, lines } = capture();
  logIdleConnectionError(log)(pgError(SQLSTATE.ADMIN_SHUTDOWN, 'terminating connection due to administrator command'));
  t.same(lines, [{ level: 'info', msg: 'idle database connection was ended by the database (terminated or shut down); a new one is opened when needed' }]);
});

t.test('a crash, a reset socket or a lost connection is a warning', async (t) => {
  const { log, lines } = capture();
  const handle = logIdleConnectionError(log, 'idle database connection of the log copier');
  handle(pgError(SQLSTATE.CRASH_SHUTDOWN, 'terminating connection because of crash of another server process'));
  handle(pgError('ECONNRESET', 'read ECONNRESET'));
  handle(new Error('Connection terminated unexpectedly'));
  t.same(lines.map((l) => l.level), ['warn', 'warn', 'warn']);
  t.equal(lines[0]!.msg, 'idle database connection of the log copier failed');
});
