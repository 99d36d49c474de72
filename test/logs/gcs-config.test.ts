/**
 * The GCS log store built from configuration (environment variables as an
 * operator would set them), against the emulator through a custom endpoint.
 */
import t from 'tap';
import { loadConfig } from '../../server/config/load.js';

import { createGcsLogStore } from '../../server/logs/gcs/from-config.js';
import { startGcs } from '../harness/gcs.js';
import { tempDir } from '../harness/tmp.js';
import { entry, readAll } from './gcs-helpers.js';
import { testLog } from '../harness/log.js';

t.test('configuration → store', async (t) => {
  const gcs = await startGcs(t, { buckets: ['site-a-logs'] });
  const spool = await tempDir(t, 'spool-config');
  const config = loadConfig({
    file: '',
    env: {
      TANDEM_LOGS_STORE: 'gcs',
      TANDEM_LOGS_SPOOL_DIR: spool,
      TANDEM_GCS_BUCKET: 'site-a-logs',
      TANDEM_GCS_PREFIX: 'logs/',
      TANDEM_GCS_API_ENDPOINT: gcs.url,
      TANDEM_GCS_PROJECT_ID: 'test',
      TANDEM_GCS_CHECKPOINT_INTERVAL: '200ms',
      TANDEM_GCS_CHECKPOINT_BYTES: '64kb',
      TANDEM_GCS_SPOOL_LIMIT: '10mb',
      TANDEM_GCS_REQUEST_TIMEOUT: '5s',
    },
  });
  t.equal(config.gcs.checkpointInterval, 200);
  t.equal(config.gcs.spoolLimit, 10 * 1024 * 1024);
  const store = await createGcsLogStore({ config, log: testLog, member: 'm1' });
  t.teardown(() => store.close());
  t.equal(store.kind, 'gcs');
  const w = await store.open('ops/1.log');
  w.append(entry('configured'));
  await w.finish();
  await store.drain(10_000);
  const [names] = await gcs.storage().bucket('site-a-logs').getFiles();
  t.same(names.map((f) => f.name), ['logs/ops/1.log'], 'the object is named prefix + key, in the configured bucket');
  t.same((await readAll(store, 'ops/1.log')).texts, ['configured']);
  t.equal(store.spoolUsage().limitBytes, 10 * 1024 * 1024, 'the spool limit is the configured one');

  const noBucket = loadConfig({ file: '', env: { TANDEM_LOGS_STORE: 'gcs', TANDEM_LOGS_SPOOL_DIR: spool } });
  await t.rejects(createGcsLogStore({ config: noBucket, log: testLog, member: 'm1' }), { code: 'invalid_config', field: 'gcs.bucket' }, 'a missing bucket is a clear configuration error');
  t.throws(() => loadConfig({ file: '', env: { TANDEM_GCS_CHECKPOINT_BYTES: 'lots' } }), /gcs\.checkpointBytes/, 'a bad value names its key');
});
