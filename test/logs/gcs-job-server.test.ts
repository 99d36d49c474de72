/**
 * The GCS log store inside real job servers: two members share one database
 * and one bucket (each with its own spool). An execution running on member 1
 * is readable through member 2's HTTP API while it runs (checkpoints), and
 * complete there once it ends, with its checksum recorded.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { startJobServer } from '../../server/app/job-server.js';
import { createToken } from '../../server/auth/tokens.js';
import { migrate } from '../../server/db/migrate.js';

import { GcsLogStore } from '../../server/logs/gcs/store.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { testConfig } from '../server/helpers.js';
import { BUCKET, client, setup, waitFor } from './gcs-helpers.js';
import { testPool } from '../harness/pool.js';
import { testLog } from '../harness/log.js';

t.test('a running log is read through another member; the finished log is complete there', async (t) => {
  const [pgs, gcs] = await Promise.all([startPostgres(t, { name: 'gcs-js' }), setup(t)]);
  const dbUrl = await pgs.createDatabase('gcs_js');
  await migrate(dbUrl);
  const pool = testPool(t, { connectionString: dbUrl, max: 4 });
  const { token } = await createToken(pool, { user: 'admin', roles: ['admin'] });

  const startMember = async (name: string) => {
    const store = new GcsLogStore({
      bucket: client(gcs).bucket(BUCKET),
      prefix: 'logs/',
      spoolDir: await tempDir(t, `spool-${name}`),
      member: name,
      log: testLog,
      db: pool,
      checkpointIntervalMs: 1000, // the default
    });
    await store.start();
    const config = await testConfig(dbUrl, await tempDir(t, `unused-${name}`), { 'scheduler.enabled': false, 'logs.store': 'gcs', 'gcs.bucket': BUCKET });
    const server = await startJobServer({ config, log: testLog, store });
    t.teardown(() => server.stop());
    const api = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(server.url + p, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    };
    return { server, api };
  };
  const m1 = await startMember('member-1');
  const m2 = await startMember('member-2');

  t.equal((await m1.api('POST', '/api/v1/projects', { name: 'ops' })).status, 201, 'project created');
  const imported = await m1.api('POST', '/api/v1/projects/ops/jobs', [
    { name: 'chatty', sequence: { commands: [{ exec: 'for i in $(seq 1 40); do echo "out $i"; sleep 0.1; done' }] } },
  ]);
  t.equal(imported.status, 201, 'job imported');
  const run = await m1.api('POST', `/api/v1/jobs/${imported.body.jobs[0].id}/run`, {});
  t.equal(run.status, 201, 'run started on member 1');
  const id = run.body.id as string;

  // While it runs on member 1, member 2 serves the lines checkpointed so far.
  const whileRunning = await waitFor('checkpointed lines through member 2', async () => {
    const out = await m2.api('GET', `/api/v1/executions/${id}/output`);
    const lines = (out.body?.entries ?? []).filter((e: { text: string }) => e.text.startsWith('out '));
    if (lines.length === 0) return null;
    const ex = await m2.api('GET', `/api/v1/executions/${id}`);
    return { lines: lines.length, complete: out.body.complete as boolean, status: ex.body.status as string };
  });
  t.equal(whileRunning.status, 'running', `member 2 read ${whileRunning.lines} lines while the execution was still running`);
  t.equal(whileRunning.complete, false, 'and said the log is not complete');

  await waitFor('the execution to end', async () => ['succeeded', 'failed'].includes((await m1.api('GET', `/api/v1/executions/${id}`)).body.status));
  const texts: string[] = [];
  let offset = 0;
  await waitFor('the complete log through member 2', async () => {
    const out = await m2.api('GET', `/api/v1/executions/${id}/output?offset=${offset}`);
    texts.push(...out.body.entries.map((e: { text: string }) => e.text));
    offset = out.body.nextOffset;
    return out.body.complete as boolean;
  });
  t.same(
    texts.filter((x) => x.startsWith('out ')),
    Array.from({ length: 40 }, (_, i) => `out ${i + 1}`),
    'every line, in order, through member 2',
  );

  const key = `logs/ops/${id}.log`;
  const [bytes] = await client(gcs).bucket(BUCKET).file(key).download();
  const row = (await pool.query('select store, size, sha256, complete from tandem.log_objects where execution_id = $1', [id])).rows[0];
  t.same(row, { store: 'gcs', size: String(bytes.length), sha256: createHash('sha256').update(bytes).digest('hex'), complete: true }, 'the log object record matches the object');
});
