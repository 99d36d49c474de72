import type { Db } from '../../db/db.js';
import { KEY_COLUMNS, type KeyRow } from './key-row.js';

/** A batch of entries not yet under the current master key, locked (skip locked: two rotations share the work). */
export async function listKeysToRotate(db: Db, currentId: string, limit: number): Promise<KeyRow[]> {
  const { rows } = await db.query<KeyRow>({
    name: 'tandem.keys.listKeysToRotate',
    text: `select ${KEY_COLUMNS} from tandem.storage_keys where master_key_id <> $1::text order by path limit $2::int for update skip locked`,
    values: [currentId, limit],
  });
  return rows;
}
