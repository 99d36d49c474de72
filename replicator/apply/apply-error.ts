/**
 * A change that could not be applied. It names the table, the key and the
 * source transaction (commit LSN, xid) and says truthfully what kind of
 * failure it is and what can be done (replicator/README.md, "When a change
 * cannot be applied"):
 *
 * - `conflict`: the target's data or constraints refuse a change the source
 *   made (SQLSTATE class 23: a duplicate key, a check the target has and the
 *   source has not; or the row to update/delete is missing): the target
 *   diverged. Name the row and the constraint; fix the target.
 * - `target_definition`: the target refused a value the source accepted
 *   (class 22: too long, out of range, invalid input): the column
 *   definitions differ, or Tandem sent the value wrong (a bug).
 * - `tandem_bug`: anything else (class 0A, 42, XX, ...): nothing on the
 *   target is wrong; this is a bug or an unsupported case in Tandem. Report
 *   it; `tandem replicate --skip-transaction LSN` lets an operator who
 *   accepts losing that transaction on this site go on.
 *
 * The replicator stops on it and never skips on its own (the slot stays where
 * it was).
 */
import { TandemError } from '../../server/errors.js';
import type { ReplicationErrorInfo } from '../bookkeeping/set-state.js';
import { isConnectionLost, isTransactionRollback, SQLSTATE } from '../../server/db/sqlstate.js';

/** Raised by the applier when an UPDATE or DELETE found no row (not a PostgreSQL error). */
export class RowMissingError extends Error {
  readonly code = 'row_missing';
}

type Kind = NonNullable<ReplicationErrorInfo['kind']>;

export function errorKind(code: string | undefined): Kind {
  if (code === 'row_missing' || code?.startsWith(SQLSTATE.INTEGRITY_CONSTRAINT_CLASS)) return 'conflict';
  if (code?.startsWith(SQLSTATE.DATA_EXCEPTION_CLASS)) return 'target_definition';
  return 'tandem_bug';
}

/** The command that skips the failing transaction (only when one transaction is named). */
function skipHint(commitLsn: string | undefined): string {
  if (commitLsn && /^[0-9A-F]+\/[0-9A-F]+$/i.test(commitLsn)) return `\`tandem replicate --skip-transaction ${commitLsn}\``;
  return (
    '`tandem replicate --skip-transaction LSN` with the commit LSN of the failing transaction (the change was applied set-based ' +
    `together with others${commitLsn ? `, commit LSNs ${commitLsn}` : ''}; run once with --row-by-row to name it)`
  );
}

export function applyError(cause: unknown, info: Omit<ReplicationErrorInfo, 'message' | 'at' | 'code' | 'kind'>): TandemError {
  const pgErr = cause as { message?: string; code?: string; detail?: string; constraint?: string };
  const kind = errorKind(pgErr?.code);
  const base = pgErr?.message ?? String(cause);
  const detail = pgErr?.detail ? ` (${pgErr.detail})` : '';
  const constraint = pgErr?.constraint ? ` [constraint ${pgErr.constraint} on the target]` : '';
  const key = info.key ? ` key ${JSON.stringify(info.key)}` : '';
  const what =
    `cannot apply ${info.change ?? 'change'} to ${info.table ?? '?'}${key} of source transaction ` +
    `${info.xid ?? '?'} (commit LSN ${info.commitLsn ?? '?'}): ${base}${detail}${constraint}. `;
  const skip = skipHint(info.commitLsn);
  const advice =
    kind === 'conflict'
      ? 'Target-side conflict: the target holds data or a constraint the source does not (a row written on this site, ' +
        'or a row changed or removed here). Correct that row or constraint on the target and start the replicator again, ' +
        'or rebuild this site with --resync. The replicator stopped; nothing was skipped'
      : kind === 'target_definition'
        ? 'The target refused a value the source accepted: compare the definition of this table on both sites (column types, ' +
          'domains, checks). If they are the same, this is a bug in Tandem: please report it with this message. ' +
          `The replicator stopped; nothing was skipped. An operator who accepts losing this transaction's changes on this site can run ${skip}`
        : 'This is a bug or an unsupported case in Tandem, not a problem of the target: please report it with this message and ' +
          'the table\'s definition. The replicator stopped; nothing was skipped. An operator who accepts losing this ' +
          `transaction's changes on this site can run ${skip} (recorded, and shown by \`tandem replication status\`)`;
  const message = what + advice;
  const details: ReplicationErrorInfo = { ...info, message, code: pgErr?.code, kind, at: new Date().toISOString() };
  return new TandemError('replication_apply', message, { cause, details: { replication: details } });
}

/**
 * What a change that failed throws: a lost connection stays what it is (the
 * runner reconnects; nothing of the open group was acknowledged, so the
 * change is delivered and applied again), anything else becomes the apply
 * error that names the change. A target restarted during a COPY fails the
 * COPY with the socket's ECONNRESET/EPIPE or the server's 57P01/57P02: wrapped
 * as an apply error, that stopped the replicator as if the data were at fault
 * (seen in the soak test, test/replicator/soak.test.ts).
 */
export function changeFailed(cause: unknown, info: Omit<ReplicationErrorInfo, 'message' | 'at' | 'code' | 'kind'>): unknown {
  // A deadlock or serialization failure (class 40) is not the change's fault either: the session runs again.
  return isConnectionLost(cause) || isTransactionRollback(cause) ? cause : applyError(cause, info);
}
