import t from 'tap';
import { startPostgres } from '../harness/postgres.js';
import { startGcs } from '../harness/gcs.js';
import { tempDir } from '../harness/tmp.js';
import { readOutput, startTestServer, waitForEnd } from './helpers.js';

t.test('the job server with logs.store = gcs (emulator): logs written, tailed and recorded', async (t) => {
  const [pg, gcs] = await Promise.all([startPostgres(t, { name: 'gcslogs' }), startGcs(t, { buckets: ['tandem-logs'] })]);
  const spool = await tempDir(t, 'spool');
  const ts = await startTestServer(t, pg, {
    overrides: { 'logs.store': 'gcs', 'logs.spoolDir': spool, 'gcs.bucket': 'tandem-logs', 'gcs.apiEndpoint': gcs.url, 'gcs.projectId': 'test' },
  });
  const info = await ts.api('GET', '/api/v1/system/info');
  t.equal(info.body.logStore, 'gcs', info.text);
  await ts.api('POST', '/api/v1/projects', { name: 'ops' });
  const imp = await ts.api('POST', '/api/v1/projects/ops/jobs', [{ name: 'count', sequence: { commands: [{ exec: 'for i in 1 2 3 4 5; do echo "n=$i"; done' }] } }]);
  const run = await ts.api('POST', `/api/v1/jobs/${imp.body.jobs[0].id}/run`, {});
  const done = await waitForEnd(ts, run.body.id);
  t.equal(done.status, 'succeeded');
  const out = await readOutput(ts, run.body.id);
  t.same(out.filter((e) => e.stream === 'stdout').map((e) => e.text), ['n=1', 'n=2', 'n=3', 'n=4', 'n=5']);
  const rec = await ts.pool.query('select store, key, complete, sha256 from tandem.log_objects where execution_id = $1', [run.body.id]);
  t.match(rec.rows[0], { store: 'gcs', key: `ops/${run.body.id}.log`, complete: true, sha256: /^[0-9a-f]{64}$/ });
});
