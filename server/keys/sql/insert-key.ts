import type { Db } from '../../db/db.js';
import type { Sealed } from '../cipher.js';
import { KEY_COLUMNS, type KeyRow, type KeyType } from './key-row.js';

export interface NewKey {
  path: string;
  keyType: KeyType;
  contentType: string;
  contentSize: number;
  sealed: Sealed;
  user: string;
}

export async function insertKey(db: Db, k: NewKey): Promise<KeyRow> {
  const { rows } = await db.query<KeyRow>({
    name: 'tandem.keys.insertKey',
    text: `insert into tandem.storage_keys (path, key_type, content_type, content_size, master_key_id, iv, ciphertext, auth_tag, created_by, modified_by)
           values ($1::text, $2::text, $3::text, $4::int, $5::text, $6::bytea, $7::bytea, $8::bytea, $9::text, $9::text)
           returning ${KEY_COLUMNS}`,
    values: [k.path, k.keyType, k.contentType, k.contentSize, k.sealed.masterKeyId, k.sealed.iv, k.sealed.ciphertext, k.sealed.authTag, k.user],
  });
  return rows[0]!;
}
