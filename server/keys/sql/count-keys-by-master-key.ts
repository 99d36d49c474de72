import type { Db } from '../../db/db.js';

/** How many entries each master key id encrypts (config check, rotation progress). */
export async function countKeysByMasterKey(db: Db): Promise<{ masterKeyId: string; count: number }[]> {
  const { rows } = await db.query<{ masterKeyId: string; count: number }>({
    name: 'tandem.keys.countKeysByMasterKey',
    text: 'select master_key_id as "masterKeyId", count(*)::int as count from tandem.storage_keys group by master_key_id order by 1',
  });
  return rows;
}
