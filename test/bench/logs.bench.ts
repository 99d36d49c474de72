/**
 * Execution logs in GCS (emulator on loopback):
 * - checkpoint visibility: a line written on the executing member → readable
 *   through another member, with the default checkpoint settings;
 * - object replication: an execution's completion recorded on the active
 *   site → its object verified in the passive site's bucket, through the
 *   replicator (apply hook) and the copier, at 20 completed executions/s;
 * - copy throughput: 10,000 objects of 100 KB copied by the copier.
 */
import { createHash } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import pg from 'pg';
import { runReplicator } from '../../replicator/index.js';
import { migrate } from '../../server/db/migrate.js';
import { silentLogger } from '../../server/log.js';
import { LogObjectCopier } from '../../replicator/objects/copier.js';
import { logObjectCopyHook } from '../../replicator/objects/hook.js';
import { GcsLogStore } from '../../server/logs/gcs/store.js';
import { logTime } from '../../server/logs/store.js';
import { insertExecution } from '../../server/executions/sql/insert-execution.js';
import { insertProject } from '../../server/projects/sql/insert-project.js';
import { upsertLogObject } from '../../server/logs/sql/upsert-log-object.js';
import { startGcs, type TestGcs } from '../harness/gcs.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir, type Teardown } from '../harness/tmp.js';
import { percentile, type BenchGroup, type BenchReport } from './report.js';

const WRITERS = 20;
const LINE_EVERY_MS = 100;
const DURATION_MS = 20_000;
const POLL_MS = 50;

/** Teardowns run in reverse order of registration, like tap's. */
async function withTeardown(fn: (t: Teardown) => Promise<void>): Promise<void> {
  const teardowns: Array<() => unknown> = [];
  try {
    await fn({ teardown: (f) => void teardowns.unshift(f) });
  } finally {
    for (const f of teardowns) await f();
  }
}

async function checkpointVisibility(report: BenchReport): Promise<void> {
  await withTeardown(async (t) => {
    const gcs = await startGcs(t, { buckets: ['logs'] });
    const member = async (name: string) => {
      const store = new GcsLogStore({
        bucket: new Storage(gcs.clientOptions({ retryOptions: { autoRetry: false }, timeout: 30_000 })).bucket('logs'),
        spoolDir: await tempDir(t, `bench-spool-${name}`),
        member: name,
        log: silentLogger,
        // default checkpointIntervalMs (1 s) and checkpointBytes (256 KiB)
      });
      t.teardown(() => store.close());
      await store.start();
      return store;
    };
    const writerMember = await member('a');
    const readerMember = await member('b');
    const keys = Array.from({ length: WRITERS }, (_, i) => `bench/exec-${i}.log`);
    const writers = await Promise.all(keys.map((k) => writerMember.open(k)));
    const writtenAt = new Map<string, number>();
    const latencies: number[] = [];
    let stop = false;
    report.progress(`${WRITERS} running executions, one line each per ${LINE_EVERY_MS} ms for ${DURATION_MS / 1000} s; member b tails every log every ${POLL_MS} ms`);

    const producing = writers.map(async (w, i) => {
      for (let n = 0; !stop; n++) {
        const text = `w${i} ${n}`;
        writtenAt.set(text, performance.now());
        w.append({ time: logTime(), level: 'NORMAL', step: '1', node: 'n', stream: 'stdout', text });
        await new Promise((r) => setTimeout(r, LINE_EVERY_MS));
      }
    });
    const offsets = keys.map(() => 0);
    const tailing = (async () => {
      while (!stop) {
        await Promise.all(
          keys.map(async (k, i) => {
            const r = await readerMember.read(k, offsets[i]!);
            const now = performance.now();
            for (const e of r.entries) {
              const at = writtenAt.get(e.text);
              if (at !== undefined) latencies.push(now - at);
            }
            offsets[i] = r.nextOffset;
          }),
        );
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    })();
    const started = Date.now();
    while (Date.now() - started < DURATION_MS) {
      await new Promise((r) => setTimeout(r, 5000));
      report.progress(`${Math.round((Date.now() - started) / 1000)} s: ${latencies.length} lines seen by member b`);
    }
    stop = true;
    await Promise.all([...producing, tailing]);
    await Promise.all(writers.map((w) => w.finish()));
    await writerMember.drain(30_000);

    latencies.sort((a, b) => a - b);
    report.figure('logs.checkpoint_visibility_p50_ms', percentile(latencies, 50), 'line written on member a → readable through member b (GCS emulator, default checkpoint settings)');
    report.figure('logs.checkpoint_visibility_p99_ms', percentile(latencies, 99), 'same, 99th percentile (target: under 2000 ms)');
    report.note(
      `Checkpoint visibility: ${WRITERS} running executions each writing a line every ${LINE_EVERY_MS} ms for ${DURATION_MS / 1000} s on member a; ` +
        `member b tails each log from the bucket every ${POLL_MS} ms (the poll interval is part of the figure). ` +
        `Default settings: checkpoint every 1 s or 256 KiB, spool flushed every 100 ms. ${latencies.length} lines measured. ` +
        'GCS is the harness emulator on loopback, so network latency to a real bucket is not included.',
    );
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Sites {
  gcs: TestGcs;
  poolA: pg.Pool;
  poolB: pg.Pool;
  projectId: string;
  store(bucket: string, name: string, db?: pg.Pool): Promise<GcsLogStore>;
  newExecution(): Promise<{ id: string; key: string }>;
}

/** Two sites (PostgreSQL each, one emulator with a bucket per site), the replicator streaming with the log-object hook. */
async function twoSites(t: Teardown, report: BenchReport): Promise<Sites> {
  const [pa, pb, gcs] = await Promise.all([startPostgres(t, { name: 'bench-a' }), startPostgres(t, { name: 'bench-b' }), startGcs(t, { buckets: ['site-a', 'site-b'] })]);
  const [urlA, urlB] = await Promise.all([pa.createDatabase('tandem'), pb.createDatabase('tandem')]);
  await Promise.all([migrate(urlA), migrate(urlB)]);
  const poolA = new pg.Pool({ connectionString: urlA, max: 8 });
  poolA.on('error', (e) => process.stderr.write(`bench pool: an idle session was ended by the server: ${e.message}\n`));
  const poolB = new pg.Pool({ connectionString: urlB, max: 8 });
  poolB.on('error', (e) => process.stderr.write(`bench pool: an idle session was ended by the server: ${e.message}\n`));
  // Idle connections are cut when the clusters stop at the end: not an error of the benchmark.
  poolA.on('error', () => undefined);
  poolB.on('error', () => undefined);
  t.teardown(async () => {
    await poolA.end();
    await poolB.end();
  });
  const ac = new AbortController();
  const replicating = runReplicator({ sourceUrl: urlA, targetUrl: urlB, hooks: [logObjectCopyHook()], signal: ac.signal, log: silentLogger, retryDelayMs: 200 });
  t.teardown(async () => {
    ac.abort();
    await replicating.catch(() => undefined);
  });
  const project = await insertProject(poolA, { name: 'bench', description: '', createdBy: null });
  const deadline = Date.now() + 60_000;
  while ((await poolB.query('select 1 from tandem.projects where id = $1', [project.id])).rowCount !== 1) {
    if (Date.now() > deadline) throw new Error('the replicator did not start streaming');
    await new Promise((r) => setTimeout(r, 50));
  }
  report.progress('two sites up, replicator streaming');
  return {
    gcs,
    poolA,
    poolB,
    projectId: project.id,
    async store(bucket, name, db) {
      const s = new GcsLogStore({ bucket: new Storage(gcs.clientOptions({ retryOptions: { autoRetry: false }, timeout: 30_000 })).bucket(bucket), spoolDir: await tempDir(t, `bench-${name}`), member: name, log: silentLogger, db });
      t.teardown(() => s.close());
      await s.start();
      return s;
    },
    async newExecution() {
      const e = await insertExecution(poolA, {
        projectId: project.id,
        jobId: null,
        jobName: 'bench',
        jobGroup: '',
        definition: {},
        options: {},
        trigger: 'user',
        userName: 'bench',
        member: 'a1',
        exclusive: false,
        attempt: 1,
        retryOf: null,
        scheduledTime: null,
      });
      const key = `bench/${e.id}.log`;
      await upsertLogObject(poolA, { executionId: e.id, store: 'gcs', key, size: 0, sha256: null, complete: false });
      return { id: e.id, key };
    },
  };
}

const RATE_PER_S = 20;
const REPLICATION_SECONDS = 30;

async function objectReplication(report: BenchReport): Promise<void> {
  await withTeardown(async (t) => {
    const sites = await twoSites(t, report);
    const active = await sites.store('site-a', 'a1', sites.poolA);
    const copier = new LogObjectCopier({ pool: sites.poolB, source: await sites.store('site-a', 'b-view'), target: await sites.store('site-b', 'b1'), log: silentLogger, pollMs: 50 });
    copier.start();
    t.teardown(() => copier.stop());
    report.progress(`${RATE_PER_S} executions complete per second for ${REPLICATION_SECONDS} s (20 lines each)`);
    const completedAt = new Map<string, number>();
    const runs: Promise<void>[] = [];
    const started = Date.now();
    for (let i = 0; i < RATE_PER_S * REPLICATION_SECONDS; i++) {
      const due = started + (i * 1000) / RATE_PER_S;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      runs.push(
        (async () => {
          const e = await sites.newExecution();
          const w = await active.open(e.key);
          for (let n = 0; n < 20; n++) w.append({ time: logTime(), level: 'NORMAL', step: '1', node: 'n', stream: 'stdout', text: `line ${n} of ${e.id}` });
          const info = await w.finish();
          // As the job server does: the completion and its record commit together.
          await upsertLogObject(sites.poolA, { executionId: e.id, store: 'gcs', key: e.key, size: info.size, sha256: info.sha256, complete: true });
          completedAt.set(e.id, Date.now());
        })(),
      );
    }
    await Promise.all(runs);
    report.progress(`${completedAt.size} executions completed; waiting for the passive bucket`);
    const deadline = Date.now() + 120_000;
    let rows: Array<{ id: string; copied: Date; requested: Date }> = [];
    for (;;) {
      rows = (
        await sites.poolB.query<{ id: string; copied: Date; requested: Date }>(
          `select execution_id as id, copied_at as copied, requested_at as requested from tandem_site.log_object_copies where state = 'done' and complete`,
        )
      ).rows;
      if (rows.length >= completedAt.size) break;
      if (Date.now() > deadline) throw new Error(`only ${rows.length} of ${completedAt.size} objects replicated`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const lat = rows.map((r) => r.copied.getTime() - completedAt.get(r.id)!).sort((a, b) => a - b);
    // Where the time goes: record reaching site B (replicator) vs. copying once it is there.
    const arrival = rows.map((r) => r.requested.getTime() - completedAt.get(r.id)!).sort((a, b) => a - b);
    const copying = rows.map((r) => r.copied.getTime() - r.requested.getTime()).sort((a, b) => a - b);
    report.note(
      `Object replication split: record on site B after p50 ${Math.round(percentile(arrival, 50))} ms / p99 ${Math.round(percentile(arrival, 99))} ms (replicator), ` +
        `then copied after p50 ${Math.round(percentile(copying, 50))} ms / p99 ${Math.round(percentile(copying, 99))} ms (copier; includes waiting for the final upload).`,
    );
    report.figure('logs.object_replication_p50_ms', percentile(lat, 50), 'execution completed on the active site → its object verified in the passive bucket');
    report.figure('logs.object_replication_p99_ms', percentile(lat, 99), `same, 99th percentile at ${RATE_PER_S} completed executions/s (target: under 2000 ms)`);
    report.note(
      `Object replication: ${completedAt.size} executions (20 lines each) completed at ${RATE_PER_S}/s on site A; the record commits right after the log is sealed ` +
        '(before its final upload lands, as the job server does), the replicator applies it on site B where the hook requests the copy, and the copier ' +
        'rewrites the object into site B\'s bucket and verifies its SHA-256. Latency = copy recorded done on B − completion committed on A (same clock).',
    );
  });
}

const COPY_OBJECTS = 10_000;
const COPY_BYTES = 100 * 1024;

async function copyThroughput(report: BenchReport): Promise<void> {
  await withTeardown(async (t) => {
    const sites = await twoSites(t, report);
    report.progress(`writing ${COPY_OBJECTS} objects of ${COPY_BYTES / 1024} KB into the active bucket and their copy requests on site B`);
    const line = JSON.stringify({ time: logTime(), level: 'NORMAL', step: '1', node: 'n', stream: 'stdout', text: 'x'.repeat(200) }) + '\n';
    const body = Buffer.from(line.repeat(Math.ceil(COPY_BYTES / line.length))).subarray(0, COPY_BYTES);
    const data = body.subarray(0, body.lastIndexOf(10) + 1);
    const sum = sha(data);
    const keys = Array.from({ length: COPY_OBJECTS }, (_, i) => `copy/${String(i).padStart(5, '0')}.log`);
    // Straight into the emulator's state: the setup is not what is measured.
    for (const k of keys) sites.gcs.emulator.state.write('site-a', k, data, { contentType: 'application/x-ndjson', metadata: { 'tandem-complete': 'true', 'tandem-sha256': sum } }, {});
    await sites.poolB.query(
      `insert into tandem_site.log_object_copies (key, execution_id, size, sha256, complete)
       select k, gen_random_uuid(), $2, $3, true from unnest($1::text[]) k`,
      [keys, data.length, sum],
    );
    const copier = new LogObjectCopier({ pool: sites.poolB, source: await sites.store('site-a', 'b-view'), target: await sites.store('site-b', 'b1'), log: silentLogger, pollMs: 50, concurrency: 16 });
    const started = performance.now();
    copier.start();
    t.teardown(() => copier.stop());
    let copied = 0;
    let lastProgress = started;
    // At most 10 minutes: on a starved machine the rate is reported over what was copied by then.
    while (copied < COPY_OBJECTS && performance.now() - started < 600_000) {
      await new Promise((r) => setTimeout(r, 100));
      copied = (await sites.poolB.query<{ n: number }>(`select count(*)::int as n from tandem_site.log_object_copies where state = 'done'`)).rows[0]!.n;
      if (performance.now() - lastProgress > 10_000) {
        lastProgress = performance.now();
        report.progress(`${copied} of ${COPY_OBJECTS} copied`);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    report.figure('logs.object_copies_per_s', copied / seconds, `objects of ${COPY_BYTES / 1024} KB copied and verified between two buckets`);
    report.note(
      `Copy throughput: ${copied} of ${COPY_OBJECTS} complete logs of ${data.length} bytes copied in ${seconds.toFixed(1)} s, copy requests already queued; ` +
        'the copier (16 at a time) reads the source object\'s facts, rewrites it server-side into the other bucket and hashes the copy (3 requests per object). ' +
        'Emulator, copier and PostgreSQL share this machine\'s cores.',
    );
  });
}

const bench: BenchGroup = async (report) => {
  await checkpointVisibility(report);
  await objectReplication(report);
  await copyThroughput(report);
};

export default bench;
