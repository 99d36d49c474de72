import type { Db } from '../../../db/db.js';

/**
 * Records an uploaded version of a log in its `tandem.log_objects` row (found
 * by key; the job server creates the row when the execution starts), so the
 * replicator learns about checkpoints of running executions too. A record
 * never goes backwards: a checkpoint that lands after the finished log was
 * recorded (or after a longer checkpoint) changes nothing.
 */
export async function recordLogUpload(db: Db, o: { key: string; store: string; size: number; sha256: string; complete: boolean }): Promise<boolean> {
  const r = await db.query({
    name: 'tandem.recordLogUpload',
    text: `update tandem.log_objects
              set size = $3, sha256 = $4, complete = $5, updated_at = now()
            where key = $1 and store = $2
              and ((not complete and (size < $3 or (size = $3 and ($5 or sha256 is distinct from $4))))
                   -- the finished log was recorded before its object landed: touch the record now that it has,
                   -- so passive sites copy it at once instead of at their next retry
                   or (complete and $5 and size = $3 and sha256 = $4))`,
    values: [o.key, o.store, o.size, o.sha256, o.complete],
  });
  return (r.rowCount ?? 0) > 0;
}
