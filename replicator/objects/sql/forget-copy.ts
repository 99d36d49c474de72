import type { Db } from '../../../server/db/db.js';

/** The record was deleted (execution deleted): nothing to copy any more. */
export async function forgetCopy(db: Db, executionId: string): Promise<void> {
  await db.query({
    name: 'tandem_site.forgetCopy',
    text: `delete from tandem_site.log_object_copies where execution_id = $1`,
    values: [executionId],
  });
}
