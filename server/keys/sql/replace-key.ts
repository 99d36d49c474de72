import type { Db } from '../../db/db.js';
import type { NewKey } from './insert-key.js';
import { KEY_COLUMNS, type KeyRow } from './key-row.js';

/** PUT: new content (and type) for an existing entry; undefined when there is none. */
export async function replaceKey(db: Db, k: NewKey): Promise<KeyRow | undefined> {
  const { rows } = await db.query<KeyRow>({
    name: 'tandem.keys.replaceKey',
    text: `update tandem.storage_keys set key_type = $2::text, content_type = $3::text, content_size = $4::int, master_key_id = $5::text,
             iv = $6::bytea, ciphertext = $7::bytea, auth_tag = $8::bytea, modified_by = $9::text, modified_at = now()
           where path = $1::text returning ${KEY_COLUMNS}`,
    values: [k.path, k.keyType, k.contentType, k.contentSize, k.sealed.masterKeyId, k.sealed.iv, k.sealed.ciphertext, k.sealed.authTag, k.user],
  });
  return rows[0];
}
