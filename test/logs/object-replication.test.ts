/**
 * Log object replication between two sites: real PostgreSQL on both, the
 * replicator streaming `tandem` from the active to the passive database with
 * the log-object hook, and the copier filling the passive site's bucket.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import pg from 'pg';
import { runReplicator } from '../../replicator/index.js';
import { migrate } from '../../server/db/migrate.js';
import { createLogger } from '../../server/log.js';
import { formatCopyBacklog, objectCopyBacklog } from '../../replicator/objects/backlog.js';
import { LogObjectCopier } from '../../replicator/objects/copier.js';
import { logObjectCopyHook } from '../../replicator/objects/hook.js';
import { copyBacklog } from '../../replicator/objects/sql/copy-backlog.js';
import { copyStateOf } from '../../server/logs/sql/copy-state-of.js';
import { GcsLogStore } from '../../server/logs/gcs/store.js';
import { insertExecution } from '../../server/executions/sql/insert-execution.js';
import { insertProject } from '../../server/projects/sql/insert-project.js';
import { upsertLogObject } from '../../server/logs/sql/upsert-log-object.js';
import { startGcs } from '../harness/gcs.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { client, entry, readAll, waitFor } from './gcs-helpers.js';
import { testLog } from '../harness/log.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

t.test('objects follow their records to the passive bucket', async (t) => {
  const [pa, pb, gcs] = await Promise.all([startPostgres(t, { name: 'site-a' }), startPostgres(t, { name: 'site-b' }), startGcs(t, { buckets: ['site-a', 'site-b'] })]);
  const [urlA, urlB] = await Promise.all([pa.createDatabase('tandem'), pb.createDatabase('tandem')]);
  await Promise.all([migrate(urlA), migrate(urlB)]);
  const poolA = new pg.Pool({ connectionString: urlA, max: 4 });
  const poolB = new pg.Pool({ connectionString: urlB, max: 4 });
  // An idle pooled session the server ends (seen once in CI at teardown: 57P01) is an 'error' event on the pool;
  // without a listener it would throw. The next query simply opens a new session.
  for (const pool of [poolA, poolB]) pool.on('error', (e) => process.stderr.write(`idle session ended: ${e.message}\n`));
  t.teardown(async () => {
    await poolA.end();
    await poolB.end();
  });
  const ac = new AbortController();
  const replicating = runReplicator({ sourceUrl: urlA, targetUrl: urlB, hooks: [logObjectCopyHook()], signal: ac.signal, log: process.env.DEBUG_REPL ? createLogger({}, { level: 'debug' }) : testLog, retryDelayMs: 200 });
  t.teardown(async () => {
    ac.abort();
    await replicating.catch(() => undefined);
  });

  const store = async (bucket: string, name: string, db?: pg.Pool) => {
    const s = new GcsLogStore({ bucket: client(gcs).bucket(bucket), spoolDir: await tempDir(t, `spool-${name}`), member: name, log: testLog, db, checkpointIntervalMs: 200 });
    t.teardown(() => s.close());
    await s.start();
    return s;
  };
  const active = await store('site-a', 'a1', poolA);
  const sourceView = await store('site-a', 'b-reader'); // the passive site's read-only view of the active bucket
  const passive = await store('site-b', 'b1');
  const copier = new LogObjectCopier({ pool: poolB, source: sourceView, target: passive, log: testLog, pollMs: 50, retryBaseMs: 100, retryMaxMs: 1000 });
  copier.start();
  t.teardown(() => copier.stop());

  const project = await insertProject(poolA, { name: 'ops', description: '', createdBy: null });
  // Once the project is on the passive site, the replicator streams (later rows reach the hook).
  await waitFor('the replicator to stream', async () => (await poolB.query('select 1 from tandem.projects where id = $1', [project.id])).rowCount === 1);
  const newExecution = async () => {
    const e = await insertExecution(poolA, {
      projectId: project.id,
      jobId: null,
      jobName: 'adhoc',
      jobGroup: '',
      definition: {},
      options: {},
      trigger: 'user',
      userName: 'alice',
      member: 'a1',
      exclusive: false,
      attempt: 1,
      retryOf: null,
      scheduledTime: null,
    });
    const key = `ops/${e.id}.log`;
    await upsertLogObject(poolA, { executionId: e.id, store: 'gcs', key, size: 0, sha256: null, complete: false });
    return { id: e.id, key };
  };

  // A finished execution, recorded as the job server does (complete, before the final upload lands).
  const done = await newExecution();
  const w1 = await active.open(done.key);
  for (let i = 0; i < 30; i++) w1.append(entry(`done ${i}`));
  const info1 = await w1.finish();
  await upsertLogObject(poolA, { executionId: done.id, store: 'gcs', key: done.key, size: info1.size, sha256: info1.sha256, complete: true });
  await waitFor('the finished log to be copied', async () => (await copyStateOf(poolB, done.id))?.state === 'done');
  const [copied] = await client(gcs).bucket('site-b').file(done.key).download();
  t.equal(sha(copied), info1.sha256, "the passive bucket holds the finished log, byte for byte");
  t.equal((await readAll(passive, done.key)).complete, true, 'and it reads as complete there');
  t.ok(gcs.counters.servedByKind.rewrite >= 1, 'copied by a server-side rewrite');

  // A running execution: its checkpoints are copied too, newest wins.
  const running = await newExecution();
  const w2 = await active.open(running.key);
  for (let i = 0; i < 10; i++) w2.append(entry(`running ${i}`));
  await w2.flush();
  await waitFor('the checkpoint to reach the passive bucket', async () => (await readAll(passive, running.key)).texts.length === 10);
  t.equal((await readAll(passive, running.key)).complete, false, 'a running log is a checkpoint on the passive site too');
  for (let i = 10; i < 20; i++) w2.append(entry(`running ${i}`));
  await w2.flush();
  await waitFor('the next checkpoint', async () => (await readAll(passive, running.key)).texts.length === 20);
  const info2 = await w2.finish();
  await upsertLogObject(poolA, { executionId: running.id, store: 'gcs', key: running.key, size: info2.size, sha256: info2.sha256, complete: true });
  await waitFor('the final version', async () => (await copyStateOf(poolB, running.id))?.state === 'done' && (await readAll(passive, running.key)).complete);
  t.same((await readAll(passive, running.key)).texts, Array.from({ length: 20 }, (_, i) => `running ${i}`));

  // A record whose object is not at the source yet reads as "replicating", not as an error.
  const early = await newExecution();
  await upsertLogObject(poolA, { executionId: early.id, store: 'gcs', key: early.key, size: 100, sha256: 'f'.repeat(64), complete: false });
  const st = await waitFor('the early record to be tried', async () => {
    const s = await copyStateOf(poolB, early.id);
    return s?.lastError ? s : null;
  });
  t.equal(st.state, 'pending');
  t.match(st.lastError, /^replicating: /, 'reported as replicating');
  const backlog = await copyBacklog(poolB);
  t.ok(backlog.pending >= 1 && backlog.oldestPendingMs >= 0, `the backlog counts it (${backlog.pending} pending, oldest ${backlog.oldestPendingMs} ms)`);
  // The object arrives: the copy completes by itself.
  const we = await active.open(early.key);
  for (let i = 0; i < 5; i++) we.append(entry(`early ${i}`));
  const infoE = await we.finish();
  await upsertLogObject(poolA, { executionId: early.id, store: 'gcs', key: early.key, size: infoE.size, sha256: infoE.sha256, complete: true });
  await waitFor('the late object to be copied', async () => (await copyStateOf(poolB, early.id))?.state === 'done');

  // A copy whose bytes do not match the record's checksum is retried, then reported, never accepted.
  const bad = await newExecution();
  const wb = await active.open(bad.key);
  wb.append(entry('real content'));
  const infoBad = await wb.finish();
  await active.drain(10_000);
  // The store recorded the real version, which was copied; now the record names bytes nobody has.
  await waitFor('the real version to be copied', async () => (await copyStateOf(poolB, bad.id))?.state === 'done');
  await upsertLogObject(poolA, { executionId: bad.id, store: 'gcs', key: bad.key, size: 10, sha256: '0'.repeat(64), complete: true });
  const failed = await waitFor('the mismatching copy to be reported', async () => {
    const s = await copyStateOf(poolB, bad.id);
    return s?.state === 'failed' ? s : null;
  });
  t.match(failed.lastError, /checksum mismatch/);
  const [kept] = await client(gcs).bucket('site-b').file(bad.key).download();
  t.equal(sha(kept), infoBad.sha256, 'the passive bucket keeps the verified version; nothing was accepted for the bad record');
  const report = await copyBacklog(poolB);
  t.equal(report.failed, 1, 'one failed copy reported');
  t.ok(report.problems.some((p) => p.key === bad.key && p.state === 'failed'), 'named in the problems list');
  const status = formatCopyBacklog(await objectCopyBacklog(urlB));
  t.match(status[0], /^log objects:\s+.*1 FAILED$/, `tandem replication status shows it: ${status[0]}`);
  t.ok(status.some((l) => l.includes(bad.key) && l.includes('checksum mismatch')), 'with the key and the reason');

  // Pending copies live in the database: a new copier (restart) finishes what the old one left.
  await copier.stop();
  const later = await newExecution();
  const wl = await active.open(later.key);
  wl.append(entry('after the copier stopped'));
  const infoL = await wl.finish();
  await active.drain(10_000);
  await upsertLogObject(poolA, { executionId: later.id, store: 'gcs', key: later.key, size: infoL.size, sha256: infoL.sha256, complete: true });
  await waitFor('the request to arrive while no copier runs', async () => (await copyStateOf(poolB, later.id))?.state === 'pending');
  const again = new LogObjectCopier({ pool: poolB, source: sourceView, target: passive, log: testLog, pollMs: 50, retryBaseMs: 100 });
  again.start();
  t.teardown(() => again.stop());
  await waitFor('the restarted copier to copy it', async () => (await copyStateOf(poolB, later.id))?.state === 'done');
  t.pass('a restarted copier resumes pending copies');
});
