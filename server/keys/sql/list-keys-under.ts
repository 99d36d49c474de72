import type { Db } from '../../db/db.js';
import { KEY_COLUMNS, type KeyRow } from './key-row.js';

/** Every entry below a directory (`keys/a/` lists keys/a/x and keys/a/b/y), in path order. */
export async function listKeysUnder(db: Db, dirWithSlash: string): Promise<KeyRow[]> {
  const { rows } = await db.query<KeyRow>({
    name: 'tandem.keys.listKeysUnder',
    // starts_with, not LIKE: a path may contain _ and %, which LIKE would treat as wildcards.
    text: `select ${KEY_COLUMNS} from tandem.storage_keys where starts_with(path, $1::text) order by path`,
    values: [dirWithSlash],
  });
  return rows;
}
