/**
 * GCS log store and the database: checkpoints and the final upload are
 * recorded in `tandem.log_objects` (size and SHA-256 of the bytes really in
 * the bucket), and a record never goes backwards.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { migrate } from '../../server/db/migrate.js';
import { recordLogUpload } from '../../server/logs/gcs/sql/record-log-upload.js';
import { insertExecution } from '../../server/executions/sql/insert-execution.js';
import { insertProject } from '../../server/projects/sql/insert-project.js';
import { upsertLogObject } from '../../server/logs/sql/upsert-log-object.js';
import { startPostgres } from '../harness/postgres.js';
import { BUCKET, client, entry, member, setup, waitFor } from './gcs-helpers.js';
import { testPool } from '../harness/pool.js';

interface Row {
  size: string;
  sha256: string | null;
  complete: boolean;
}

t.test('checkpoints and the final upload are recorded with their checksum', async (t) => {
  const [pgs, gcs] = await Promise.all([startPostgres(t, { name: 'logs' }), setup(t)]);
  const url = await pgs.createDatabase('gcs_record');
  await migrate(url);
  const pool = testPool(t, { connectionString: url, max: 4 });

  const project = await insertProject(pool, { name: 'ops', description: '', createdBy: null });
  const exec = await insertExecution(pool, {
    projectId: project.id,
    jobId: null,
    jobName: 'adhoc',
    jobGroup: '',
    definition: {},
    options: {},
    trigger: 'user',
    userName: 'alice',
    member: 'a',
    exclusive: false,
    attempt: 1,
    retryOf: null,
    scheduledTime: null,
  });
  const key = `ops/${exec.id}.log`;
  // As the job server does when an execution starts.
  await upsertLogObject(pool, { executionId: exec.id, store: 'gcs', key, size: 0, sha256: null, complete: false });
  const row = async () => (await pool.query<Row>('select size, sha256, complete from tandem.log_objects where key = $1', [key])).rows[0]!;

  const a = await member(t, gcs, { name: 'a', db: pool });
  const w = await a.open(key);
  for (let i = 0; i < 20; i++) w.append(entry(`line ${i}`));
  await w.flush();
  const checkpoint = await waitFor('the checkpoint record', async () => {
    const r = await row();
    return Number(r.size) > 0 ? r : null;
  });
  t.equal(checkpoint.complete, false, 'a checkpoint is recorded as not complete');
  const [cpBytes] = await client(gcs).bucket(BUCKET).file(`logs/${key}`).download();
  t.equal(Number(checkpoint.size), cpBytes.length, 'recorded size is the checkpoint object size');
  t.equal(checkpoint.sha256, createHash('sha256').update(cpBytes).digest('hex'), 'recorded sha256 is the checkpoint object checksum');

  w.append(entry('last line'));
  const info = await w.finish();
  await a.drain(10_000);
  const final = await row();
  const [bytes] = await client(gcs).bucket(BUCKET).file(`logs/${key}`).download();
  t.same(final, { size: String(bytes.length), sha256: createHash('sha256').update(bytes).digest('hex'), complete: true }, 'the final object is recorded complete with its checksum');
  t.equal(info.sha256, final.sha256, 'the writer returned the same checksum');
  const [meta] = await client(gcs).bucket(BUCKET).file(`logs/${key}`).getMetadata();
  t.equal(meta.metadata?.['tandem-sha256'], final.sha256, 'the object carries it in its metadata too');

  // A checkpoint answer arriving late (or from a stale writer) does not move the record backwards.
  const late = await recordLogUpload(pool, { key, store: 'gcs', size: Number(checkpoint.size), sha256: checkpoint.sha256!, complete: false });
  t.equal(late, false, 'a late checkpoint changes nothing');
  t.same(await row(), final);
});
