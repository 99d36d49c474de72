/**
 * The replicator's apply hook on `tandem.log_objects`: each applied record
 * that names an object version (a checkpoint or the finished log) becomes a
 * pending copy in `tandem_site.log_object_copies`, inside the same target
 * transaction as the record, so that a record which arrived is never
 * without its copy request (and a crash between the two cannot happen).
 * When changing this, read replicator/docs/object-copy.md.
 */
import type { ApplyHook, AppliedChange } from '../apply/hooks.js';
import { forgetCopy } from './sql/forget-copy.js';
import { requestCopy } from './sql/request-copy.js';

export function logObjectCopyHook(): ApplyHook {
  return {
    table: 'tandem.log_objects',
    async onRow(client, change: AppliedChange) {
      if (change.kind === 'delete') {
        const id = change.oldRow?.execution_id;
        if (id) await forgetCopy(client, id);
        return;
      }
      const row = change.newRow;
      // A record without a checksum names no object yet (the execution just started).
      if (!row?.key || !row.execution_id || !row.sha256) return;
      await requestCopy(client, {
        key: row.key,
        executionId: row.execution_id,
        size: Number(row.size ?? 0),
        sha256: row.sha256,
        complete: row.complete === 't' || row.complete === 'true',
      });
    },
  };
}
