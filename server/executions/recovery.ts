/**
 * Start-up recovery of one member: executions it left queued or running when
 * it stopped (crash, kill -9, power loss) are closed as `failed` with a
 * reason, their step results closed, and their logs sealed as they are (the
 * lines written before the crash are kept; a torn last line is dropped) and
 * recorded as complete.
 */
import type pg from 'pg';
import type { Logger } from '../log.js';
import type { LogStore } from '../logs/store.js';
import { canWrite } from '../site/guard.js';
import { closeLeftoverExecutions } from './sql/close-leftover-executions.js';
import { closeStepResults } from './sql/close-step-results.js';
import { withTransaction } from '../db/tx.js';
import { upsertLogObject } from '../logs/sql/upsert-log-object.js';
import { logTime } from '../logs/store.js';
import { LOCAL_NODE } from './steps.js';

export const RESTART_REASON = 'the server stopped while the execution was running (closed at restart)';

export async function recoverLeftoverExecutions(deps: { pool: pg.Pool; store: LogStore; log: Logger; member: string }): Promise<string[]> {
  const closed = await withTransaction(deps.pool, async (c) => {
    // A passive or fenced site writes nothing; its leftovers are closed by the site that owns them (or by rejoin).
    if (!(await canWrite(c, 'finish'))) return [];
    const rows = await closeLeftoverExecutions(c, deps.member, RESTART_REASON);
    if (rows.length) await closeStepResults(c, rows.map((r) => r.id), 'the server stopped during this step');
    return rows;
  });
  await sealInterruptedLogs(deps, closed, RESTART_REASON);
  if (closed.length) deps.log.warn('closed executions left running by a previous run of this member', { count: closed.length, member: deps.member });
  return closed.map((r) => r.id);
}

/**
 * The logs of executions just closed because their member is gone (restart
 * recovery here, a dead member's recovery in server/cluster/): say in the log
 * itself why it ends there, seal it (unless a previous recovery already did;
 * the lines written before are kept, a torn last line is dropped) and record
 * it complete. A log that cannot be sealed is reported and left; the
 * execution stays closed.
 */
export async function sealInterruptedLogs(
  deps: { pool: pg.Pool; store: LogStore; log: Logger },
  closed: readonly { id: string; logKey: string | null }[],
  reason: string,
): Promise<void> {
  for (const { id, logKey } of closed) {
    if (!logKey) continue;
    try {
      // Say in the log itself why it ends here, then seal it (unless a previous recovery already did).
      const existing = await deps.store.stat(logKey);
      let info = existing;
      if (!existing?.complete) {
        const w = await deps.store.open(logKey);
        w.append({ time: logTime(), level: 'ERROR', step: null, node: LOCAL_NODE, stream: 'system', text: `execution failed: ${reason}` });
        info = await w.finish();
      }
      if (!info) continue;
      await upsertLogObject(deps.pool, { executionId: id, store: deps.store.kind, key: logKey, size: info.size, sha256: info.sha256, complete: true });
    } catch (e) {
      deps.log.error('cannot seal the log of an interrupted execution', { executionId: id, key: logKey, error: e });
    }
  }
}
