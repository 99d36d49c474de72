import type { Db } from '../../../../sql/db.js';

/**
 * Replication state of one execution's log on this (passive) site: lets the
 * output endpoint answer "replicating" instead of an error while the record
 * has arrived and the object has not. Null when no copy was ever requested.
 */
export async function copyStateOf(db: Db, executionId: string): Promise<{ state: 'pending' | 'done' | 'failed'; complete: boolean; lastError: string | null } | null> {
  const r = await db.query<{ state: 'pending' | 'done' | 'failed'; complete: boolean; lastError: string | null }>({
    name: 'tandem_site.copyStateOf',
    text: `select state, complete, last_error as "lastError" from tandem_site.log_object_copies where execution_id = $1`,
    values: [executionId],
  });
  return r.rows[0] ?? null;
}
