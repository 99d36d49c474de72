/**
 * The output endpoint on a passive site while log objects replicate (issue
 * #6): two real sites (A active, B passive) with job servers on GCS log
 * stores (one bucket per site, the harness emulator), the database
 * replicator A → B with the log-object apply hook, and B's object copier
 * started only later. Until the copy is done, B answers a log whose record
 * has arrived as `logState: "replicating"` (200, Retry-After, never
 * complete), which a tailing client simply polls through; afterwards it
 * reads normally. A copy that failed (the source object does not match its
 * record) answers 502 `log_replication_failed` saying so.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { loadConfig } from '../../server/config/load.js';

import { logObjectCopyHook } from '../../replicator/objects/hook.js';
import { startLogObjectReplication } from '../../replicator/objects/service.js';
import { copyStateOf } from '../../server/logs/sql/copy-state-of.js';
import { runReplicator } from '../../replicator/index.js';
import { startGcs } from '../harness/gcs.js';
import { tempDir } from '../harness/tmp.js';
import { api, startSiteServer, startSites, waitFor, type TestSite } from '../failover/helpers.js';
import { testLog } from '../harness/log.js';

t.test('passive site: a log replicating is reported as such, then reads normally; a failed copy says so', async (t) => {
  const gcs = await startGcs(t, { buckets: ['site-a-logs', 'site-b-logs'] });
  const sites = await startSites(t);
  const { a, b, token } = sites;
  const gcsOverrides = async (site: TestSite) => ({
    'logs.store': 'gcs',
    'logs.spoolDir': await tempDir(t, `spool-${site.name}`),
    'gcs.bucket': `site-${site.name}-logs`,
    'gcs.prefix': 'logs/',
    'gcs.apiEndpoint': gcs.url,
    'gcs.retryMaxDelay': 500,
  });

  // The replicator A → B with the log-object hook (as `tandem replicate` runs it): records become pending copies on B.
  const ac = new AbortController();
  const replicating = runReplicator({
    sourceUrl: a.dbUrl,
    targetUrl: b.dbUrl,
    log: testLog,
    signal: ac.signal,
    retryDelayMs: 100,
    hooks: [logObjectCopyHook()],
  }).catch((e: Error) => e);
  t.teardown(async () => {
    ac.abort();
    await replicating;
  });
  await startSiteServer(t, a, sites, await gcsOverrides(a));
  await startSiteServer(t, b, sites, await gcsOverrides(b));

  t.equal((await api(a, token, 'POST', '/api/v1/projects', { name: 'ops' })).status, 201);
  const job = [{ name: 'lines', multipleExecutions: true, sequence: { commands: [{ exec: 'for i in 1 2 3 4 5; do echo "line $i"; done' }] } }];
  const imported = await api(a, token, 'POST', '/api/v1/projects/ops/jobs', job);
  t.equal(imported.status, 201, 'job imported on a');
  const jobId = imported.body.jobs[0].id as string;
  const runs: string[] = [];
  for (let i = 0; i < 2; i++) {
    const run = await api(a, token, 'POST', `/api/v1/jobs/${jobId}/run`, {});
    t.equal(run.status, 201, 'run on a');
    runs.push(run.body.id);
  }
  const [good, bad] = runs as [string, string];

  // Both finished on a with their log sealed in a's bucket, and their records on b as pending copies.
  for (const id of runs) {
    await waitFor(`execution ${id} done on a, log complete`, async () => {
      const r = await a.q(`select e.status, l.complete from tandem.executions e join tandem.log_objects l on l.execution_id = e.id where e.id = $1`, [id]);
      return r.rows[0]?.status === 'succeeded' && r.rows[0]?.complete;
    });
    await waitFor(`the finished log record of ${id} on b`, async () => {
      const s = await copyStateOf({ query: b.q } as never, id);
      return s?.complete && s.state === 'pending';
    });
    await waitFor(`execution ${id} succeeded on b`, async () => (await b.q(`select status from tandem.executions where id = $1`, [id])).rows[0]?.status === 'succeeded');
  }
  const onA = await api(a, token, 'GET', `/api/v1/executions/${good}/output`);
  t.equal(onA.status, 200);
  t.equal(onA.body.logState, 'available', 'on the active site the log is simply available');
  t.equal(onA.body.complete, true);
  const texts = (onA.body.entries as { text: string }[]).map((e) => e.text).filter((x) => x.startsWith('line '));
  t.same(texts, ['line 1', 'line 2', 'line 3', 'line 4', 'line 5'], 'the log on a');

  // On b, before any copy: "replicating", not an error, not complete.
  const early = await fetch(`${b.url}/api/v1/executions/${good}/output`, { headers: { authorization: `Bearer ${token}` } });
  t.equal(early.status, 200, 'b answers 200 while the log replicates');
  t.equal(early.headers.get('retry-after'), '1', 'with Retry-After');
  const body = (await early.json()) as any;
  t.equal(body.logState, 'replicating');
  t.equal(body.status, 'succeeded', 'the execution itself is known');
  t.equal(body.complete, false, 'never complete while replicating');
  t.same(body.entries, []);
  t.equal(body.nextOffset, 0, 'a tailing client asks again from the same offset');
  t.ok(body.replication?.since, 'says since when it waits');

  // The source object of the second run is replaced by other bytes (it no longer matches its record).
  const name = (await a.q<{ key: string }>(`select key from tandem.log_objects where execution_id = $1`, [bad])).rows[0]!.key;
  const forged = Buffer.from('{"time":"2026-11-25T12:00:00.000000Z","level":"NORMAL","step":"1","node":"n","stream":"stdout","text":"forged"}\n');
  await gcs
    .storage()
    .bucket('site-a-logs')
    .file(`logs/${name}`)
    .save(forged, { resumable: false, metadata: { metadata: { 'tandem-complete': 'true', 'tandem-sha256': createHash('sha256').update(forged).digest('hex') } } });

  // A client tails the first run's log on b from now on, while b's object copier starts.
  const seen: string[] = [];
  let firstAnswer!: () => void;
  const answered = new Promise<void>((resolve) => (firstAnswer = resolve));
  const tail = (async () => {
    const lines: string[] = [];
    let offset = 0;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const r = await api(b, token, 'GET', `/api/v1/executions/${good}/output?offset=${offset}`);
      if (r.status !== 200) throw new Error(`tail got ${r.status} ${r.text}`);
      seen.push(r.body.logState);
      firstAnswer();
      lines.push(...(r.body.entries as { text: string }[]).map((e) => e.text));
      offset = r.body.nextOffset;
      if (r.body.complete) return lines;
      // Deliberate pacing, not a wait on a guess: this loop plays a client that
      // polls the output every 100 ms, as a tailing client does; the copier runs meanwhile.
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error('the tail never completed');
  })();
  await Promise.race([answered, tail]); // (the copier starts once the client has had its first answer)
  const copyConfig = loadConfig({
    env: {},
    file: '',
    overrides: {
      ...(await gcsOverrides(b)),
      'logs.spoolDir': await tempDir(t, 'spool-copier'),
      'replication.target': b.dbUrl,
      'gcs.sourceBucket': 'site-a-logs',
    },
  });
  const copies = (await startLogObjectReplication({ config: copyConfig, log: testLog }))!;
  t.teardown(() => copies.stop());

  const tailed = await tail;
  t.same(tailed.filter((x) => x.startsWith('line ')), texts, 'the tailing client got the whole log once it arrived');
  t.equal(seen[0], 'replicating', 'it first saw the log replicating');
  t.equal(seen[seen.length - 1], 'available', 'and finally available');

  const after = await api(b, token, 'GET', `/api/v1/executions/${good}/output`);
  t.equal(after.status, 200);
  t.equal(after.body.logState, 'available');
  t.equal(after.body.complete, true);
  t.same(after.body.entries, onA.body.entries, 'b serves the same entries as a');

  // The second run: its copy fails (checksum mismatch, retried, then reported); b says so.
  const failed = await waitFor('the forged copy to fail', async () => {
    const s = await copyStateOf({ query: b.q } as never, bad);
    return s?.state === 'failed' ? s : null;
  });
  t.match(failed.lastError, /checksum mismatch/);
  const r = await api(b, token, 'GET', `/api/v1/executions/${bad}/output`);
  t.equal(r.status, 502, 'a failed copy is an error');
  t.equal(r.body.error.code, 'log_replication_failed');
  t.match(r.body.error.message, /could not be replicated to this site: checksum mismatch/);
  t.match(r.body.error.message, a.url, 'says where the log can be read');
  t.equal(r.body.error.activeSite, a.url);
  t.equal(r.body.error.executionId, bad);
});
