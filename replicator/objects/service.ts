/**
 * Log object replication as `tandem replicate` runs it on a passive site:
 * the apply hook for the replicator, and the copier from the active site's
 * bucket (`gcs.sourceBucket`) into this site's log store (`logs.store`: its
 * GCS bucket, or its filesystem directory), using this site's database
 * (`replication.target`) for the pending copies. Null when no source bucket
 * is configured (then only database rows are replicated).
 */
import path from 'node:path';
import pg from 'pg';
import type { ApplyHook } from '../apply/hooks.js';
import type { Config } from '../../server/config/schema.js';
import { TandemError } from '../../server/errors.js';
import { writableUrl } from '../../server/site/connect.js';
import type { Logger } from '../../server/log.js';
import { FsLogStore } from '../../server/logs/fs-store.js';
import type { LogStore } from '../../server/logs/store.js';
import { gcsStorageClient } from '../../server/logs/gcs/from-config.js';
import { GcsLogStore } from '../../server/logs/gcs/store.js';
import { LogObjectCopier } from './copier.js';
import { logObjectCopyHook } from './hook.js';
import { logIdleConnectionError } from '../../server/db/sqlstate.js';

export interface LogObjectReplication {
  hook: ApplyHook;
  copier: LogObjectCopier;
  stop(): Promise<void>;
}

export async function startLogObjectReplication(deps: { config: Config; log: Logger }): Promise<LogObjectReplication | null> {
  const { config } = deps;
  const c = config.gcs;
  if (!c.sourceBucket) return null;
  if (!config.replication.target) throw new TandemError('invalid_config', 'replication.target: required to copy log objects', { field: 'replication.target' });
  const log = deps.log.child({ component: 'log-object-copier' });
  const client = gcsStorageClient(c);
  // Read-only view of the active site's bucket: never opened for writing, so its spool directory stays unused.
  const source = new GcsLogStore({
    bucket: client.bucket(c.sourceBucket),
    prefix: c.sourcePrefix ?? c.prefix,
    spoolDir: path.join(config.logs.spoolDir, 'replication-source'),
    member: 'replicator',
    log,
    requestTimeoutMs: c.requestTimeout,
  });
  let target: LogStore;
  if (config.logs.store === 'gcs') {
    if (!c.bucket) throw new TandemError('invalid_config', 'gcs.bucket: required (this site\'s log bucket) when logs.store is gcs', { field: 'gcs.bucket' });
    target = new GcsLogStore({
      bucket: client.bucket(c.bucket),
      prefix: c.prefix,
      spoolDir: path.join(config.logs.spoolDir, 'replication-target'),
      member: 'replicator',
      log,
      requestTimeoutMs: c.requestTimeout,
    });
  } else {
    target = new FsLogStore({ dir: config.logs.dir });
  }
  // The target is a passive site whose database defaults to read-only transactions for the application:
  // the copier records its outcomes in this site's own table, so its sessions turn that default off (as the replicator's do).
  const pool = new pg.Pool({ connectionString: writableUrl(config.replication.target), max: Math.min(20, c.copyConcurrency + 2), application_name: 'tandem-log-copier' });
  pool.on('error', logIdleConnectionError(log));
  const copier = new LogObjectCopier({ pool, source, target, log, concurrency: c.copyConcurrency, retryMaxMs: c.retryMaxDelay * 3 });
  copier.start();
  log.info('copying log objects', { from: c.sourceBucket, to: config.logs.store === 'gcs' ? c.bucket : config.logs.dir });
  return {
    hook: logObjectCopyHook(),
    copier,
    async stop() {
      await copier.stop();
      await Promise.all([source.close(), target.close()]);
      await pool.end();
    },
  };
}
