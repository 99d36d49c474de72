import type { Db } from '../../db/db.js';

/** Logout of a site-local session (in a read-write transaction, see transaction.ts). */
export async function deleteLocalSession(db: Db, idHash: string): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'tandem_site.auth.deleteLocalSession',
    text: 'delete from tandem_site.local_sessions where id_hash = $1',
    values: [idHash],
  });
  return rowCount === 1;
}
