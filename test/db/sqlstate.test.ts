// server/db/sqlstate.ts, pure logic, no server: the one classifier of lost connections (transactions, the
// retrying pool, the HTTP error mapping and the replicator use it), and the log level of an error on an idle
// pooled connection: a terminated session (57P01, what every failover, rejoin and stop does on purpose) is
// info; anything else stays a warning.
import t from 'tap';
import { connectionLoss, isConnectionLost, isSessionEnded, logIdleConnectionError, SQLSTATE } from '../../server/db/sqlstate.js';
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

t.test('connection loss: a session ended, a database unreachable, or not a connection problem', async (t) => {
  const cases: Array<[unknown, ReturnType<typeof connectionLoss>]> = [
    [pgError('57P01', 'terminating connection due to administrator command'), 'session_ended'],
    [pgError('57P02', 'terminating connection because of crash of another server process'), 'session_ended'],
    [pgError('57P05', 'terminating connection due to idle-session timeout'), 'session_ended'],
    [pgError('ECONNRESET', 'read ECONNRESET'), 'session_ended'],
    [pgError('EPIPE', 'write EPIPE'), 'session_ended'],
    [new Error('Connection terminated unexpectedly'), 'session_ended'],
    [new Error('replication connection closed'), 'session_ended'],
    [new Error('Connection closed by the server'), 'session_ended'],
    [new Error('the source ended the replication stream'), 'session_ended'],
    [pgError('57P03', 'the database system is starting up'), 'unreachable'],
    [pgError('08006', 'connection failure'), 'unreachable'],
    [pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'), 'unreachable'],
    [pgError('ETIMEDOUT', 'connect ETIMEDOUT'), 'unreachable'],
    // Not cured by reconnecting: the replicator used to retry these forever (any errno, any 57P code).
    [pgError('57P04', 'database "tandem" does not exist'), null],
    [pgError('EACCES', 'permission denied'), null],
    [pgError('ENOENT', 'no such file'), null],
    [pgError('23505', 'duplicate key value violates unique constraint'), null],
    [pgError('25006', 'cannot execute INSERT in a read-only transaction'), null],
    [new Error('something else'), null],
    [null, null],
    ['a string', null],
  ];
  for (const [e, want] of cases) {
    const label = e instanceof Error ? `${(e as { code?: string }).code ?? ''} ${e.message}` : String(e);
    t.equal(connectionLoss(e), want, label);
    t.equal(isConnectionLost(e), want !== null);
    t.equal(isSessionEnded(e), want === 'session_ended');
  }
});
