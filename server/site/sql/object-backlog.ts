/**
 * The log object backlog of a passive site: objects named by replicated
 * rows but not yet copied into this site's store. A planned switchover waits
 * for it to be empty. Contract with the log-object replication: the pending
 * copies are the rows of the relation `tandem_site.object_copy_backlog`
 * (a table or a view); while it does not exist, there is no backlog to wait for.
 */
import type { Db } from '../../db/db.js';

export const BACKLOG_RELATION = 'tandem_site.object_copy_backlog';

/** Pending object copies, or null when this site has no object replication (yet). */
export async function objectBacklog(db: Db): Promise<number | null> {
  const has = await db.query<{ ok: boolean }>({ name: 'tandem_site.backlogPresent', text: `select to_regclass($1) is not null as ok`, values: [BACKLOG_RELATION] });
  if (!has.rows[0]?.ok) return null;
  const { rows } = await db.query<{ n: number }>({ name: 'tandem_site.objectBacklog', text: `select count(*)::int as n from tandem_site.object_copy_backlog` });
  return rows[0]!.n;
}
