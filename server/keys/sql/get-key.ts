import type { Db } from '../../db/db.js';
import { KEY_COLUMNS, type KeyRow } from './key-row.js';

export async function getKey(db: Db, path: string, opts: { forUpdate?: boolean } = {}): Promise<KeyRow | undefined> {
  const { rows } = await db.query<KeyRow>({
    name: opts.forUpdate ? 'tandem.keys.getKeyForUpdate' : 'tandem.keys.getKey',
    text: `select ${KEY_COLUMNS} from tandem.storage_keys where path = $1::text${opts.forUpdate ? ' for update' : ''}`,
    values: [path],
  });
  return rows[0];
}
