import type { Db } from '../../db/db.js';
import type { Sealed } from '../cipher.js';

/** Rotation: the same content under another master key (modified_at/by unchanged: the content did not change). */
export async function resealKey(db: Db, path: string, s: Sealed): Promise<void> {
  await db.query({
    name: 'tandem.keys.resealKey',
    text: 'update tandem.storage_keys set master_key_id = $2::text, iv = $3::bytea, ciphertext = $4::bytea, auth_tag = $5::bytea where path = $1::text',
    values: [path, s.masterKeyId, s.iv, s.ciphertext, s.authTag],
  });
}
