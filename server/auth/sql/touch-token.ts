import type { Db } from '../../db/db.js';
import { SQLSTATE, sqlstateOf } from '../../db/sqlstate.js';

/**
 * Record that a token was used. Writes at most once a minute per token: a
 * busy script must not turn every API call into a replicated UPDATE.
 */
export async function touchToken(db: Db, id: string): Promise<void> {
  // A passive site's database is read-only: it serves reads without recording the use (25006 = read_only_sql_transaction).
  await db.query({
    name: 'tandem.auth.touchToken',
    text: `update tandem.api_tokens set last_used_at = now()
           where id = $1::uuid and (last_used_at is null or last_used_at < now() - interval '1 minute')`,
    values: [id],
  }).catch((e: unknown) => {
    if (sqlstateOf(e) !== SQLSTATE.READ_ONLY_SQL_TRANSACTION) throw e;
  });
}
