/**
 * A change that could not be applied. It names the table, the key and the
 * source transaction (commit LSN, xid) so that an operator can find the cause;
 * the replicator stops on it and never skips (the slot stays where it was).
 */
import { TandemError } from '../../server/errors.js';
import type { ReplicationErrorInfo } from '../bookkeeping/set-state.js';
import { isConnectionLost } from '../../server/db/sqlstate.js';

export function applyError(cause: unknown, info: Omit<ReplicationErrorInfo, 'message' | 'at' | 'code'>): TandemError {
  const pgErr = cause as { message?: string; code?: string; detail?: string };
  const base = pgErr?.message ?? String(cause);
  const detail = pgErr?.detail ? ` (${pgErr.detail})` : '';
  const key = info.key ? ` key ${JSON.stringify(info.key)}` : '';
  const message =
    `cannot apply ${info.change ?? 'change'} to ${info.table ?? '?'}${key} of source transaction ` +
    `${info.xid ?? '?'} (commit LSN ${info.commitLsn ?? '?'}): ${base}${detail}. ` +
    'The replicator stopped; fix the cause on the target and start it again (nothing was skipped)';
  const details: ReplicationErrorInfo = { ...info, message, code: pgErr?.code, at: new Date().toISOString() };
  return new TandemError('replication_apply', message, { cause, details: { replication: details }, exitCode: 4 });
}

/**
 * Connection-level failures are retried; anything else a change caused stops
 * the replicator. The one classifier of lost connections is server/db/sqlstate.ts
 * (was here: any errno `E...` and any 57P code, so an error no reconnect cures,
 * such as a dropped database, 57P04, was retried forever).
 */
export function isConnectionError(e: unknown): boolean {
  return isConnectionLost(e);
}
