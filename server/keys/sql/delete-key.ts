import type { Db } from '../../db/db.js';

export async function deleteKey(db: Db, path: string): Promise<boolean> {
  const r = await db.query({ name: 'tandem.keys.deleteKey', text: 'delete from tandem.storage_keys where path = $1::text', values: [path] });
  return (r.rowCount ?? 0) > 0;
}
