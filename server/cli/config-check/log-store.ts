/**
 * Where execution logs go: the filesystem store's directory, or the GCS
 * bucket and the local spool in front of it. A directory must exist and
 * accept a file; the bucket must list and accept (then delete) a small
 * probe object under the key prefix, with the credentials the server uses.
 */
import { randomBytes } from 'node:crypto';
import { stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import { errorMessage } from '../../errors.js';
import { gcsStorageClient } from '../../logs/gcs/from-config.js';
import { within, type Check } from './result.js';

const probeName = () => `.tandem-config-check-${randomBytes(6).toString('hex')}`;

async function writableDir(dir: string, key: string): Promise<string> {
  const abs = path.resolve(dir);
  let st;
  try {
    st = await stat(abs);
  } catch (e) {
    throw new Error(`${key} ${abs} does not exist (create it, owned by the user tandem runs as): ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`);
  }
  if (!st.isDirectory()) throw new Error(`${key} ${abs} is not a directory`);
  const probe = path.join(abs, probeName());
  try {
    await writeFile(probe, 'tandem config check\n', { flag: 'wx' });
  } catch (e) {
    throw new Error(`${key} ${abs} is not writable: ${(e as NodeJS.ErrnoException).code ?? errorMessage(e)}`);
  }
  await unlink(probe);
  return `${abs}: writable`;
}

async function bucketUsable(cfg: Config['gcs'], timeoutMs: number): Promise<string> {
  if (!cfg.bucket) throw new Error('gcs.bucket is not set (required when logs.store is gcs)');
  const bucket = gcsStorageClient({ ...cfg, requestTimeout: timeoutMs }).bucket(cfg.bucket);
  const where = `gs://${cfg.bucket}/${cfg.prefix}`;
  try {
    await within(timeoutMs, where, bucket.getFiles({ prefix: cfg.prefix, maxResults: 1, autoPaginate: false }));
    const file = bucket.file(cfg.prefix + probeName());
    await within(timeoutMs, where, file.save('tandem config check\n', { resumable: false, contentType: 'text/plain' }));
    await within(timeoutMs, where, file.delete());
  } catch (e) {
    throw new Error(`${where}: ${errorMessage(e)}`);
  }
  return `${where}: listed, wrote and deleted a probe object`;
}

export function logStoreChecks(cfg: Config, timeoutMs: number): Check[] {
  if (cfg.logs.store === 'filesystem') return [{ item: 'log dir', run: () => writableDir(cfg.logs.dir, 'logs.dir') }];
  return [
    { item: 'log bucket', run: () => bucketUsable(cfg.gcs, timeoutMs) },
    { item: 'log spool dir', run: () => writableDir(cfg.logs.spoolDir, 'logs.spoolDir') },
  ];
}
