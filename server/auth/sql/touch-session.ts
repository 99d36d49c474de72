import type { Db } from '../../db/db.js';
import { SQLSTATE, sqlstateOf } from '../../db/sqlstate.js';

/**
 * Push a session's idle expiry forward. Only writes when the last write is
 * older than `granularityMs`, so that a page making many requests does not
 * cause a replicated UPDATE for each.
 */
export async function touchSession(db: Db, idHash: string, granularityMs: number): Promise<void> {
  // A passive site's database is read-only: it serves reads without recording the use (25006 = read_only_sql_transaction).
  await db.query({
    name: 'tandem.auth.touchSession',
    text: `update tandem.sessions set last_seen_at = now()
           where id_hash = $1 and last_seen_at < now() - $2::bigint * interval '1 millisecond'`,
    values: [idHash, granularityMs],
  }).catch((e: unknown) => {
    if (sqlstateOf(e) !== SQLSTATE.READ_ONLY_SQL_TRANSACTION) throw e;
  });
}
