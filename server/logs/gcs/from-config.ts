/**
 * Builds the GCS log store from the validated configuration (`gcs.*` and
 * `logs.spoolDir`). Credentials follow Google's standard mechanisms
 * (Application Default Credentials, or `gcs.keyFile`); with a custom
 * `gcs.apiEndpoint` (an emulator) no credentials are sent unless
 * `gcs.useAuthWithCustomEndpoint` is set.
 */
import { Storage } from '@google-cloud/storage';
import type { Config } from '../../config/schema.js';
import { TandemError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Db } from '../../db/db.js';
import type { UploadMetrics } from '../../metrics/logs.js';
import { GcsLogStore } from './store.js';

export function gcsStorageClient(c: Config['gcs']): Storage {
  return new Storage({
    ...(c.apiEndpoint ? { apiEndpoint: c.apiEndpoint, useAuthWithCustomEndpoint: c.useAuthWithCustomEndpoint } : {}),
    ...(c.projectId ? { projectId: c.projectId } : {}),
    ...(c.keyFile ? { keyFilename: c.keyFile } : {}),
    // The store retries with its own backoff (and never blocks a writer); the client must not retry for minutes on its own.
    retryOptions: { autoRetry: false },
    timeout: c.requestTimeout,
  });
}

export async function createGcsLogStore(deps: { config: Config; log: Logger; member: string; db?: Db; metrics?: UploadMetrics }): Promise<GcsLogStore> {
  const c = deps.config.gcs;
  if (!c.bucket) throw new TandemError('invalid_config', 'gcs.bucket: required when logs.store is gcs', { field: 'gcs.bucket' });
  const store = new GcsLogStore({
    bucket: gcsStorageClient(c).bucket(c.bucket),
    prefix: c.prefix,
    spoolDir: deps.config.logs.spoolDir,
    member: deps.member,
    log: deps.log.child({ component: 'gcs-log-store' }),
    db: deps.db,
    metrics: deps.metrics,
    checkpointIntervalMs: c.checkpointInterval,
    checkpointBytes: c.checkpointBytes,
    appendCheckpoints: c.appendCheckpoints,
    spoolLimitBytes: c.spoolLimit,
    requestTimeoutMs: c.requestTimeout,
    retryMaxMs: c.retryMaxDelay,
    maxConcurrentUploads: c.uploadConcurrency,
  });
  await store.start();
  return store;
}
