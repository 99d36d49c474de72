/**
 * Re-encrypt every Key Storage entry that is not under the current master key
 * (keyStorage.masterKey) with it, in small transactions (rows locked with
 * SKIP LOCKED), while servers keep running: they read old rows with
 * keyStorage.previousMasterKeys and new rows with the current key.
 */
import type pg from 'pg';
import { TandemError } from '../errors.js';
import { assertWritable } from '../site/guard.js';
import { withTransaction } from '../db/tx.js';
import type { Keyring } from './cipher.js';
import { listKeysToRotate } from './sql/list-keys-to-rotate.js';
import { resealKey } from './sql/reseal-key.js';
import { inspectKeyStorage } from './verify.js';

export async function rotateKeys(pool: pg.Pool, keyring: Keyring, progress: (done: number, total: number) => void, batch = 100): Promise<number> {
  const before = await inspectKeyStorage(pool, keyring);
  // Refuse before changing anything when some entry cannot be read: nothing half-done.
  if (before.problems.length) throw new TandemError('invalid_config', `cannot rotate: ${before.problems.join('; ')}`);
  const total = before.byMasterKey.filter((c) => !c.current).reduce((n, c) => n + c.count, 0);
  let done = 0;
  progress(0, total);
  for (;;) {
    const n = await withTransaction(pool, async (c) => {
      await assertWritable(c);
      const rows = await listKeysToRotate(c, keyring.currentId, batch);
      for (const r of rows) await resealKey(c, r.path, keyring.seal(r.path, keyring.open(r.path, r)));
      return rows.length;
    });
    if (!n) break;
    done += n;
    progress(done, total);
  }
  return done;
}
