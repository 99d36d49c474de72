/**
 * Key Storage: Rundeck's private keys, public keys and passwords, stored
 * encrypted (cipher.ts) in the replicated `tandem.storage_keys`. Content is
 * readable through `publicKey` (public keys only) and `secret` (node
 * executors, never an HTTP route); everything else sees metadata.
 *
 * Durability order: a write is one transaction (site check, then the row);
 * it is answered only after commit.
 */
import type pg from 'pg';
import { TandemError } from '../errors.js';
import { assertWritable } from '../site/guard.js';
import { isUniqueViolation, withTransaction } from '../db/tx.js';
import type { Keyring } from './cipher.js';
import { deleteKey } from './sql/delete-key.js';
import { getKey } from './sql/get-key.js';
import { insertKey } from './sql/insert-key.js';
import type { KeyRow, KeyType } from './sql/key-row.js';
import { listKeysUnder } from './sql/list-keys-under.js';
import { replaceKey } from './sql/replace-key.js';
import { baseName } from './paths.js';

/** Rundeck's content types and what each one stores. */
export const CONTENT_TYPES: Readonly<Record<string, KeyType>> = Object.freeze({
  'application/octet-stream': 'private',
  'application/pgp-keys': 'public',
  'application/x-rundeck-data-password': 'password',
});

export const MAX_KEY_BYTES = 64 * 1024;

export type Listing =
  | { type: 'file'; entry: KeyRow }
  | { type: 'directory'; path: string; files: KeyRow[]; directories: string[] };

export class KeyStorage {
  constructor(private readonly o: { pool: pg.Pool; keyring: Keyring | undefined }) {}

  private keyring(): Keyring {
    if (!this.o.keyring) {
      throw new TandemError('unavailable', 'key storage is not configured: set keyStorage.masterKey (e.g. TANDEM_KEY_STORAGE_MASTER_KEY_FILE)');
    }
    return this.o.keyring;
  }

  static keyTypeOf(contentType: string): KeyType {
    const t = CONTENT_TYPES[contentType.split(';')[0]!.trim().toLowerCase()];
    if (!t) {
      throw new TandemError('unsupported_media_type', `Content-Type must be one of ${Object.keys(CONTENT_TYPES).join(', ')} (private key, public key, password)`);
    }
    return t;
  }

  private checkContent(content: Buffer): void {
    if (content.length === 0) throw new TandemError('validation_failed', 'empty key content', { field: 'content' });
    if (content.length > MAX_KEY_BYTES) throw new TandemError('payload_too_large', `key content over ${MAX_KEY_BYTES} bytes`);
  }

  /** POST: a new entry; 409 when the path is taken (by an entry or a directory). */
  async create(path: string, contentType: string, content: Buffer, user: string): Promise<KeyRow> {
    const keyType = KeyStorage.keyTypeOf(contentType);
    this.checkContent(content);
    const sealed = this.keyring().seal(path, content);
    return withTransaction(this.o.pool, async (c) => {
      await assertWritable(c);
      if ((await listKeysUnder(c, path + '/')).length) throw new TandemError('conflict', `${path} is a directory`);
      try {
        return await insertKey(c, { path, keyType, contentType: normalizeType(contentType), contentSize: content.length, sealed, user });
      } catch (e) {
        if (isUniqueViolation(e)) throw new TandemError('conflict', `${path} already exists (PUT replaces it)`);
        throw e;
      }
    });
  }

  /** PUT: new content for an existing entry; 404 when there is none. */
  async replace(path: string, contentType: string, content: Buffer, user: string): Promise<KeyRow> {
    const keyType = KeyStorage.keyTypeOf(contentType);
    this.checkContent(content);
    const sealed = this.keyring().seal(path, content);
    return withTransaction(this.o.pool, async (c) => {
      await assertWritable(c);
      const row = await replaceKey(c, { path, keyType, contentType: normalizeType(contentType), contentSize: content.length, sealed, user });
      if (!row) throw new TandemError('not_found', `no key storage entry ${path} (POST creates one)`);
      return row;
    });
  }

  async remove(path: string): Promise<void> {
    await withTransaction(this.o.pool, async (c) => {
      await assertWritable(c);
      if (!(await deleteKey(c, path))) {
        if ((await listKeysUnder(c, path + '/')).length) throw new TandemError('conflict', `${path} is a directory; delete its entries`);
        throw new TandemError('not_found', `no key storage entry ${path}`);
      }
    });
  }

  /** An entry's metadata, or a directory's immediate children. 404 when neither exists (the root always does). */
  async lookup(path: string): Promise<Listing> {
    const entry = path === 'keys' ? undefined : await getKey(this.o.pool, path);
    if (entry) return { type: 'file', entry };
    const below = await listKeysUnder(this.o.pool, path + '/');
    if (!below.length && path !== 'keys') throw new TandemError('not_found', `no key storage entry or directory ${path}`);
    const files: KeyRow[] = [];
    const directories = new Set<string>();
    for (const r of below) {
      const rest = r.path.slice(path.length + 1);
      const slash = rest.indexOf('/');
      if (slash < 0) files.push(r);
      else directories.add(`${path}/${rest.slice(0, slash)}`);
    }
    return { type: 'directory', path, files, directories: [...directories] };
  }

  /** A public key's content (403 for private keys and passwords: never readable). */
  async publicKey(path: string): Promise<{ row: KeyRow; content: Buffer }> {
    const row = await getKey(this.o.pool, path);
    if (!row) throw new TandemError('not_found', `no key storage entry ${path}`);
    if (row.keyType !== 'public') throw new TandemError('forbidden', `${path} is a ${row.keyType === 'password' ? 'password' : 'private key'}: its content cannot be read, only used`);
    return { row, content: this.keyring().open(path, row) };
  }

  /**
   * The content of any entry, for node executors on the server (SSH keys and
   * passwords). Never reachable from an HTTP route; callers must not log it.
   */
  async secret(path: string, want: KeyType[]): Promise<Buffer> {
    const row = await getKey(this.o.pool, path);
    if (!row) throw new TandemError('not_found', `no key storage entry ${path}`);
    if (!want.includes(row.keyType)) throw new TandemError('validation_failed', `${path} is a ${row.keyType} entry, expected ${want.join(' or ')}`);
    return this.keyring().open(path, row);
  }
}

function normalizeType(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

/** Rundeck's metadata of an entry (never its content). */
export function keyMeta(r: KeyRow): Record<string, string> {
  const meta: Record<string, string> = {
    'Rundeck-content-type': r.contentType,
    'Rundeck-content-size': String(r.contentSize),
    'Rundeck-auth-created-username': r.createdBy,
    'Rundeck-content-creation-time': r.createdAt.toISOString(),
    'Rundeck-auth-modified-username': r.modifiedBy,
    'Rundeck-content-modify-time': r.modifiedAt.toISOString(),
  };
  if (r.keyType === 'password') meta['Rundeck-data-type'] = 'password';
  else meta['Rundeck-key-type'] = r.keyType;
  if (r.keyType !== 'public') meta['Rundeck-content-mask'] = 'content';
  return meta;
}

export { baseName };
