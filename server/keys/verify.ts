/**
 * Can the configured master keys read what Key Storage holds? For every
 * master key id in the table: is it configured, and does one of its entries
 * decrypt (proving it is the same key, not only the same id)? Used by
 * `tandem config check` and by `tandem keys rotate` before it starts.
 */
import type { Db } from '../db/db.js';
import type { Keyring } from './cipher.js';
import { countKeysByMasterKey } from './sql/count-keys-by-master-key.js';
import { sampleKey } from './sql/sample-key.js';

export interface KeyStorageState {
  total: number;
  byMasterKey: { masterKeyId: string; count: number; configured: boolean; current: boolean }[];
  /** Problems, one sentence each; empty when every entry can be decrypted. */
  problems: string[];
}

export async function inspectKeyStorage(db: Db, keyring: Keyring | undefined): Promise<KeyStorageState> {
  const counts = await countKeysByMasterKey(db);
  const total = counts.reduce((n, c) => n + c.count, 0);
  const problems: string[] = [];
  if (!keyring) {
    if (total) problems.push(`${total} key storage entries are stored but keyStorage.masterKey is not set: nodes cannot use them`);
    return { total, byMasterKey: counts.map((c) => ({ ...c, configured: false, current: false })), problems };
  }
  for (const c of counts) {
    if (!keyring.has(c.masterKeyId)) {
      problems.push(`${c.count} entries are encrypted under master key ${c.masterKeyId}, which is neither keyStorage.masterKey (${keyring.currentId}) nor one of keyStorage.previousMasterKeys`);
      continue;
    }
    const row = await sampleKey(db, c.masterKeyId);
    if (!row) continue;
    try {
      keyring.open(row.path, row);
    } catch (e) {
      problems.push((e as Error).message);
    }
  }
  return {
    total,
    byMasterKey: counts.map((c) => ({ ...c, configured: keyring.has(c.masterKeyId), current: c.masterKeyId === keyring.currentId })),
    problems,
  };
}

export function describeState(s: KeyStorageState): string {
  if (!s.total) return 'no entries stored';
  const parts = s.byMasterKey.map((c) => `${c.count} under ${c.masterKeyId}${c.current ? ' (current)' : c.configured ? ' (previous: run tandem keys rotate)' : ' (not configured)'}`);
  return `${s.total} entries: ${parts.join(', ')}`;
}
