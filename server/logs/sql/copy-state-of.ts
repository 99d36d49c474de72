import type { Db } from '../../db/db.js';

export interface CopyState {
  state: 'pending' | 'done' | 'failed';
  /** Whether the version to copy is the finished log (else a checkpoint of a running execution). */
  complete: boolean;
  lastError: string | null;
  /** When the oldest version still not copied was requested. */
  requestedAt: Date;
  attempts: number;
}

/**
 * Replication state of one execution's log on this (passive) site: lets the
 * output endpoint answer "replicating" instead of an error while the record
 * has arrived and the object has not. Null when no copy was ever requested.
 */
export async function copyStateOf(db: Db, executionId: string): Promise<CopyState | null> {
  const r = await db.query<CopyState>({
    name: 'tandem_site.copyStateOf',
    text: `select state, complete, last_error as "lastError", requested_at as "requestedAt", attempts
             from tandem_site.log_object_copies where execution_id = $1`,
    values: [executionId],
  });
  return r.rows[0] ?? null;
}
