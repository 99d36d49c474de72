import type { Db } from '../../db/db.js';
import { KEY_COLUMNS, type KeyRow } from './key-row.js';

/** One entry under a master key id (config check proves the key decrypts it). */
export async function sampleKey(db: Db, masterKeyId: string): Promise<KeyRow | undefined> {
  const { rows } = await db.query<KeyRow>({
    name: 'tandem.keys.sampleKey',
    text: `select ${KEY_COLUMNS} from tandem.storage_keys where master_key_id = $1::text order by path limit 1`,
    values: [masterKeyId],
  });
  return rows[0];
}
