/**
 * Encryption at rest of Key Storage: AES-256-GCM from node:crypto, a fresh
 * 96-bit IV per write, the entry's path as additional authenticated data (a
 * ciphertext moved to another path does not decrypt). A keyring holds the
 * current master key (every write) and older ones (reads only, while
 * `tandem keys rotate` re-encrypts); each row names its master key by id, a
 * truncated SHA-256 of the key that identifies it without revealing it.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { TandemError } from '../errors.js';

export interface Sealed {
  masterKeyId: string;
  iv: Buffer;
  ciphertext: Buffer;
  authTag: Buffer;
}

/** 32 bytes from the configured text (base64 or hex, validated by the config schema). */
export function parseMasterKey(text: string, what = 'keyStorage.masterKey'): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) {
    throw new TandemError('invalid_config', `${what}: expected 32 random bytes as base64 or hex, e.g. from "openssl rand -base64 32"`, { field: what });
  }
  return key;
}

export function masterKeyId(key: Buffer): string {
  return 'mk-' + createHash('sha256').update('tandem key storage master key id\0').update(key).digest('hex').slice(0, 16);
}

export class Keyring {
  readonly currentId: string;
  private readonly keys = new Map<string, Buffer>();

  constructor(current: Buffer, previous: Buffer[] = []) {
    this.currentId = masterKeyId(current);
    this.keys.set(this.currentId, current);
    for (const k of previous) this.keys.set(masterKeyId(k), k);
  }

  static fromConfig(cfg: { masterKey?: string; previousMasterKeys: string[] }): Keyring | undefined {
    if (!cfg.masterKey) return undefined;
    return new Keyring(
      parseMasterKey(cfg.masterKey),
      cfg.previousMasterKeys.map((k, i) => parseMasterKey(k, `keyStorage.previousMasterKeys[${i}]`)),
    );
  }

  has(id: string): boolean {
    return this.keys.has(id);
  }

  ids(): string[] {
    return [...this.keys.keys()];
  }

  seal(path: string, plain: Buffer): Sealed {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.keys.get(this.currentId)!, iv);
    c.setAAD(Buffer.from(path, 'utf8'));
    const ciphertext = Buffer.concat([c.update(plain), c.final()]);
    return { masterKeyId: this.currentId, iv, ciphertext, authTag: c.getAuthTag() };
  }

  /** The plaintext; a clear error (never the content) when the master key is unknown or the row was tampered with. */
  open(path: string, s: Sealed): Buffer {
    const key = this.keys.get(s.masterKeyId);
    if (!key) {
      throw new TandemError(
        'unavailable',
        `key storage entry ${path} is encrypted under master key ${s.masterKeyId}, which is not configured (this server has ${this.ids().join(', ')}); set keyStorage.masterKey or keyStorage.previousMasterKeys`,
      );
    }
    try {
      const d = createDecipheriv('aes-256-gcm', key, s.iv);
      d.setAAD(Buffer.from(path, 'utf8'));
      d.setAuthTag(s.authTag);
      return Buffer.concat([d.update(s.ciphertext), d.final()]);
    } catch {
      throw new TandemError('internal', `key storage entry ${path} does not decrypt under master key ${s.masterKeyId}: the row was altered`);
    }
  }
}
