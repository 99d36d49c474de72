import type { Db } from '../../db/db.js';

/**
 * End the job servers' open sessions on this database (application_name
 * `tandem-server`) after a role change. `default_transaction_read_only`
 * set by ALTER DATABASE only applies to new sessions: the pools reconnect
 * and get the new default at once (read-only on a fenced site, read-write on
 * a promoted one). Only idle sessions: a statement in flight finishes (the
 * role check covers its next transaction, and the site monitor aligns the
 * session's default when the pool hands it out again). Returns how many
 * sessions were ended.
 */
export async function terminateAppSessions(db: Db): Promise<number> {
  const { rows } = await db.query<{ n: number }>({
    name: 'tandem_site.terminateAppSessions',
    text: `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid() and application_name = 'tandem-server' and state = 'idle'`,
  });
  return rows[0]!.n;
}
