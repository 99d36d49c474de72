import type { Db } from '../../db/db.js';

export async function deleteSession(db: Db, idHash: string): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'tandem.auth.deleteSession',
    text: 'delete from tandem.sessions where id_hash = $1',
    values: [idHash],
  });
  return rowCount === 1;
}
