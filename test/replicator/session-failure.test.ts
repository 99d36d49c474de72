/**
 * What a failed change and a failed session lead to, no server
 * (replicator/apply/apply-error.ts, replicator/reconnect.ts): a lost
 * connection during a COPY or a pipeline is reconnected, never recorded as
 * an apply error; an error of the data stops the replicator naming the
 * change. A target PostgreSQL restarted during a 1,000-row COPY once stopped
 * the replicator (exit 4) because the COPY's EPIPE was wrapped as an apply error;
 * a deadlock during the initial copy stopped it too.
 */
import t from 'tap';
import { changeFailed, errorKind } from '../../replicator/apply/apply-error.js';
import { sessionFailure } from '../../replicator/reconnect.js';
import { isTandemError } from '../../server/errors.js';

const where = { table: 'tandem.events', change: 'insert (one of 1000 rows)', commitLsn: '0/1E8A250', xid: 816 };

/** Errors as node-pg and the socket hand them over. */
function socketError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, errno: -32, syscall: 'write' });
}
function serverError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, severity: 'FATAL' });
}

t.test('a lost connection stays a lost connection and is reconnected', async (t) => {
  const lost = [
    socketError('EPIPE', 'write EPIPE'),
    socketError('ECONNRESET', 'read ECONNRESET'),
    serverError('57P01', 'terminating connection due to administrator command'),
    serverError('57P02', 'terminating connection because of crash of another server process'),
    new Error('Connection terminated unexpectedly'),
  ];
  for (const e of lost) {
    const thrown = changeFailed(e, where);
    t.equal(thrown, e, `${e.message}: thrown unchanged`);
    t.equal(sessionFailure(thrown, 'slot_b').kind, 'reconnect', `${e.message}: reconnect`);
  }
});

t.test('a deadlock or a serialization failure runs the session again', async (t) => {
  // The soak test once stopped the replicator with 'deadlock detected' during the initial copy: its snapshot held
  // a table that a source TRUNCATE of two tables waited for. PostgreSQL rolled the copy back; a new session is the cure.
  for (const e of [serverError('40P01', 'deadlock detected'), serverError('40001', 'could not serialize access due to concurrent update')]) {
    t.equal(changeFailed(e, where), e, `${e.message}: thrown unchanged`);
    t.equal(sessionFailure(e, 'slot_b').kind, 'retry', `${e.message}: the session runs again`);
  }
});

t.test('an error of the data names the change and stops the replicator', async (t) => {
  const cases: Array<[Error, string]> = [
    [serverError('23505', 'duplicate key value violates unique constraint "events_pkey"'), 'conflict'],
    [serverError('22001', 'value too long for type character varying(10)'), 'target_definition'],
    [serverError('0A000', 'input of anonymous composite types is not implemented'), 'tandem_bug'],
    [new TypeError('cannot read properties of undefined'), 'tandem_bug'],
  ];
  for (const [e, kind] of cases) {
    const thrown = changeFailed(e, where);
    t.ok(isTandemError(thrown) && thrown.code === 'replication_apply', `${e.message}: an apply error`);
    t.match((thrown as Error).message, /cannot apply insert \(one of 1000 rows\) to tandem\.events of source transaction 816 \(commit LSN 0\/1E8A250\)/);
    const failure = sessionFailure(thrown, 'slot_b');
    t.equal(failure.kind, 'fatal', `${e.message}: stops`);
    t.equal(failure.kind === 'fatal' ? failure.details.kind : undefined, kind, `${e.message}: ${kind}`);
    t.equal(errorKind((e as { code?: string }).code), kind);
  }
});
