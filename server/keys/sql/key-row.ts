/** A row of tandem.storage_keys as the key storage code sees it. */
export type KeyType = 'private' | 'public' | 'password';

export interface KeyRow {
  path: string;
  keyType: KeyType;
  contentType: string;
  contentSize: number;
  masterKeyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
  createdBy: string;
  createdAt: Date;
  modifiedBy: string;
  modifiedAt: Date;
}

export const KEY_COLUMNS = `path, key_type as "keyType", content_type as "contentType", content_size as "contentSize",
  master_key_id as "masterKeyId", iv, ciphertext, auth_tag as "authTag", created_by as "createdBy", created_at as "createdAt",
  modified_by as "modifiedBy", modified_at as "modifiedAt"`;
