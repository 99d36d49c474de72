import type { Db } from '../../db/db.js';

/** Record (or update) the log object of an execution so other sites can find and copy it. */
export async function upsertLogObject(
  db: Db,
  o: { executionId: string; store: string; key: string; size: number; sha256: string | null; complete: boolean },
): Promise<void> {
  await db.query({
    name: 'tandem.upsertLogObject',
    text: `insert into tandem.log_objects (execution_id, store, key, size, sha256, complete) values ($1, $2, $3, $4, $5, $6)
           on conflict (execution_id) do update set store = excluded.store, key = excluded.key, size = excluded.size,
             sha256 = excluded.sha256, complete = excluded.complete, updated_at = now()`,
    values: [o.executionId, o.store, o.key, o.size, o.sha256, o.complete],
  });
}
