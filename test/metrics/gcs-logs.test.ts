/**
 * Log metrics of a job server on the GCS log store (built from its
 * configuration, against the emulator): while the bucket refuses uploads the
 * failures are counted and the spool's pending bytes show the backlog; once
 * the bucket is back the backlog drains to 0.
 */
import t from 'tap';
import { startJobServer } from '../../server/app/job-server.js';

import { startGcs } from '../harness/gcs.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { startTestServer, testConfig, waitFor } from '../server/helpers.js';
import { scrape } from './scrape.js';
import { testLog } from '../harness/log.js';

t.test('upload failures and spool backlog through a bucket outage', async (t) => {
  const [pgs, gcs] = await Promise.all([startPostgres(t, { name: 'metrics-gcs' }), startGcs(t, { buckets: ['tandem-logs'] })]);
  // The harness server gives the database, migrations and a token; the GCS member is a second job server on it.
  const base = await startTestServer(t, pgs);
  const config = await testConfig(base.dbUrl, await tempDir(t, 'unused'), {
    'scheduler.enabled': false,
    'logs.store': 'gcs',
    'logs.spoolDir': await tempDir(t, 'spool'),
    'gcs.bucket': 'tandem-logs',
    'gcs.apiEndpoint': gcs.url,
    'gcs.projectId': 'test',
    'gcs.checkpointInterval': 200,
    'gcs.retryMaxDelay': 300,
    'gcs.requestTimeout': 2000,
  });
  const server = await startJobServer({ config, log: testLog });
  t.teardown(() => server.stop());
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(server.url + p, { method, headers: { authorization: `Bearer ${base.token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  await api('POST', '/api/v1/projects', { name: 'ops' });
  const job = await api('POST', '/api/v1/projects/ops/jobs', [{ name: 'print', sequence: { commands: [{ exec: 'for i in $(seq 1 200); do echo "line $i"; done' }] } }]);

  gcs.faults.set({ status503: 'always', only: ['upload'] });
  const run = await api('POST', `/api/v1/jobs/${job.body.jobs[0].id}/run`, {});
  t.equal(run.status, 201);
  const during = await waitFor('failed uploads to be counted', async () => {
    const m = await scrape(server.url);
    return m.sum('tandem_log_upload_failures_total') >= 2 && m.sum('tandem_log_spool_pending_bytes') > 0 ? m : undefined;
  });
  t.ok(during.sum('tandem_log_spool_bytes') >= during.sum('tandem_log_spool_pending_bytes'), `spool holds the log (${during.sum('tandem_log_spool_bytes')} bytes)`);
  t.ok(during.sum('tandem_log_spool_pending_uploads') >= 1, 'a log waits for its upload');

  gcs.faults.clear();
  const after = await waitFor('the backlog to drain', async () => {
    const m = await scrape(server.url);
    return m.sum('tandem_log_spool_pending_bytes') === 0 && m.sum('tandem_log_spool_pending_uploads') === 0 && m.sum('tandem_executions_finished_total') === 1 ? m : undefined;
  }, 30_000);
  t.equal(after.sum('tandem_executions_finished_total', { status: 'succeeded' }), 1);
  t.ok(after.sum('tandem_log_lines_written_total') >= 200, `lines counted (${after.sum('tandem_log_lines_written_total')})`);
  t.ok(after.sum('tandem_log_upload_failures_total') >= during.sum('tandem_log_upload_failures_total'), 'the counter never goes down');
  t.equal(after.sum('tandem_log_upload_conflicts'), 0);
});
