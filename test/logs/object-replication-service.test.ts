/**
 * Log object replication as `tandem replicate` sets it up from
 * configuration: the hook (given a record exactly as the replicator applies
 * it, text values) queues the copy, the copier fills this site's bucket.
 */
import t from 'tap';
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { loadConfig } from '../../server/config/load.js';
import { migrate } from '../../server/db/migrate.js';

import { startLogObjectReplication } from '../../replicator/objects/service.js';
import { copyStateOf } from '../../server/logs/sql/copy-state-of.js';
import { startGcs } from '../harness/gcs.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { client, entry, member, waitFor } from './gcs-helpers.js';
import { testLog } from '../harness/log.js';

t.test('configured object replication copies what the hook queues', async (t) => {
  const [pgs, gcs] = await Promise.all([startPostgres(t, { name: 'passive' }), startGcs(t, { buckets: ['tandem-logs', 'site-b-logs'] })]);
  const url = await pgs.createDatabase('tandem_b');
  await migrate(url);
  const base = { file: '', env: {} };
  const overrides = {
    'replication.target': url,
    'logs.store': 'gcs',
    'logs.spoolDir': await tempDir(t, 'spool-replicator'),
    'gcs.bucket': 'site-b-logs',
    'gcs.prefix': 'logs/',
    'gcs.apiEndpoint': gcs.url,
  };
  t.equal(await startLogObjectReplication({ config: loadConfig({ ...base, overrides }), log: testLog }), null, 'no source bucket: no object copies');

  const svc = (await startLogObjectReplication({ config: loadConfig({ ...base, overrides: { ...overrides, 'gcs.sourceBucket': 'tandem-logs' } }), log: testLog }))!;
  t.teardown(() => svc.stop());
  t.equal(svc.hook.table, 'tandem.log_objects');

  // The active site writes a log (helpers' members use bucket tandem-logs, prefix logs/).
  const active = await member(t, gcs, { name: 'a' });
  const w = await active.open('ops/e.log');
  for (let i = 0; i < 5; i++) w.append(entry(`line ${i}`));
  const info = await w.finish();
  await active.drain(10_000);

  // The replicator applies the record: the hook runs inside the target transaction.
  const executionId = randomUUID();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('begin');
    await svc.hook.onRow(c, {
      kind: 'insert',
      table: 'tandem.log_objects',
      newRow: { execution_id: executionId, store: 'gcs', key: 'ops/e.log', size: String(info.size), sha256: info.sha256, complete: 't', updated_at: '2026-11-25 12:00:00+00' },
      oldRow: null,
      commitLsn: '0/1000',
    });
    await c.query('commit');
  } finally {
    await c.end();
  }
  svc.copier.poke();
  await waitFor('the copy', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      return (await copyStateOf(pool, executionId))?.state === 'done';
    } finally {
      await pool.end();
    }
  });
  const [bytes] = await client(gcs).bucket('site-b-logs').file('logs/ops/e.log').download();
  t.equal(createHash('sha256').update(bytes).digest('hex'), info.sha256, "the object is in this site's bucket");
});
