import type { Db } from '../../../server/db/db.js';

/**
 * Requests a copy for every replicated record that has none yet: records
 * brought by the replicator's initial copy (which applies rows without the
 * apply hooks), or that arrived before this table existed. Returns how many.
 */
export async function backfillCopies(db: Db): Promise<number> {
  const r = await db.query({
    name: 'tandem_site.backfillCopies',
    text: `insert into tandem_site.log_object_copies (key, execution_id, size, sha256, complete)
           select l.key, l.execution_id, l.size, l.sha256, l.complete
             from tandem.log_objects l
            where l.sha256 is not null
              and not exists (select 1 from tandem_site.log_object_copies c where c.key = l.key or c.execution_id = l.execution_id)
           on conflict do nothing`,
  });
  return r.rowCount ?? 0;
}
