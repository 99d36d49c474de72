/**
 * GET /metrics of a real job server during a real workload: executions of
 * every outcome, a schedule, API calls. The execution counters must match
 * the database, the HTTP counters the requests made, the log-line counter
 * the lines in the logs; no label may carry an id.
 */
import t from 'tap';
import { startPostgres } from '../harness/postgres.js';
import { readOutput, startTestServer, waitFor, waitForEnd, type TestServer } from '../server/helpers.js';
import { parseMetrics, scrape, suspiciousLabels } from './scrape.js';

async function importJob(ts: TestServer, job: Record<string, unknown>): Promise<string> {
  const r = await ts.api('POST', '/api/v1/projects/ops/jobs', [job]);
  if (r.status !== 201) throw new Error(`import failed: ${r.text}`);
  return r.body.jobs[0].id;
}

t.test('job server metrics follow a real workload', async (t) => {
  const pg = await startPostgres(t, { name: 'metrics-js' });
  const ts = await startTestServer(t, pg, { overrides: { 'scheduler.enabled': true, 'scheduler.interval': 100 } });
  await ts.api('POST', '/api/v1/projects', { name: 'ops' });

  const before = await scrape(ts.url);
  t.equal(before.sum('tandem_executions_started_total'), 0, 'no execution started yet');
  t.equal(before.sum('tandem_site_role', { role: 'active' }), 1, 'a database without a site row is a single active site');
  t.equal(before.sum('tandem_site_active'), 1);
  t.equal(before.sum('tandem_site_database_up'), 1);
  t.ok(before.has('process_cpu_user_seconds_total'), 'standard process metrics are there');

  const ok = await importJob(ts, { name: 'ok', multipleExecutions: true, sequence: { commands: [{ exec: 'for i in 1 2 3 4 5; do echo line $i; done' }] } });
  const bad = await importJob(ts, { name: 'bad', multipleExecutions: true, sequence: { commands: [{ exec: 'echo failing; exit 3' }] } });
  const slow = await importJob(ts, { name: 'slow', timeout: '1s', sequence: { commands: [{ exec: 'sleep 60' }] } });
  const long = await importJob(ts, { name: 'long', sequence: { commands: [{ exec: 'echo started; sleep 60' }] } });
  const every = await importJob(ts, { name: 'every-second', schedule: { crontab: '* * * * * ? *' }, sequence: { commands: [{ exec: 'echo tick' }] } });

  const runs: string[] = [];
  for (const id of [ok, ok, ok, bad, bad, slow]) {
    const r = await ts.api('POST', `/api/v1/jobs/${id}/run`, {});
    t.equal(r.status, 201);
    runs.push(r.body.id);
  }
  const longRun = await ts.api('POST', `/api/v1/jobs/${long}/run`, {});
  runs.push(longRun.body.id);
  await waitFor('the long execution to print', async () => (await ts.api('GET', `/api/v1/executions/${longRun.body.id}/output`)).body.entries.some((e: any) => e.text === 'started'));
  const mid = await scrape(ts.url);
  t.ok(mid.sum('tandem_executions_running') >= 1, 'the running execution is counted as running');
  t.equal((await ts.api('POST', `/api/v1/executions/${longRun.body.id}/abort`)).status, 202);
  for (const id of runs) await waitForEnd(ts, id);

  // Let the schedule fire a few times, then disable it. A scheduler tick already under way may still
  // fire once, so the comparison below is polled until metrics and database agree (or the deadline).
  // Started firings: a firing that comes while the job's previous run still runs is recorded too, with another
  // outcome (the job does not allow multiple executions), and starts nothing (seen in CI under load).
  await waitFor(
    'three started scheduled firings',
    async () => (await ts.pool.query(`select count(*)::int as n from tandem.schedule_firings where job_id = $1 and outcome = 'started'`, [every])).rows[0].n >= 3,
  );
  const disabled = await ts.api('PUT', `/api/v1/jobs/${every}`, { name: 'every-second', scheduleEnabled: false, schedule: { crontab: '* * * * * ? *' }, sequence: { commands: [{ exec: 'echo tick' }] } });
  t.equal(disabled.status, 200, 'schedule disabled');
  const settled = await waitFor('metrics and database to agree with nothing running', async () => {
    const m = await scrape(ts.url);
    const { rows } = await ts.pool.query<{ status: string; n: number }>('select status, count(*)::int as n from tandem.executions group by status');
    const db: Record<string, number> = Object.fromEntries(rows.map((r) => [r.status, r.n]));
    const total = rows.reduce((a, r) => a + r.n, 0);
    const fired = (await ts.pool.query(`select count(*)::int as n from tandem.schedule_firings where outcome = 'started'`)).rows[0].n;
    const agree =
      fired === m.sum('tandem_schedule_firings_total', { outcome: 'started' }) &&
      !db.queued && !db.running && m.sum('tandem_executions_running') === 0 && m.sum('tandem_executions_started_total') === total &&
      ['succeeded', 'failed', 'aborted', 'timedout'].every((s) => m.sum('tandem_executions_finished_total', { status: s }) === (db[s] ?? 0));
    return agree ? { m, rows, db } : undefined;
  });
  const { m, rows, db } = settled;
  t.same(db.queued ?? 0, 0);
  t.same(db.running ?? 0, 0);
  for (const status of ['succeeded', 'failed', 'aborted', 'timedout']) {
    t.equal(m.sum('tandem_executions_finished_total', { status }), db[status] ?? 0, `finished ${status} matches the database (${db[status] ?? 0})`);
  }
  const total = rows.reduce((a, r) => a + r.n, 0);
  t.equal(m.sum('tandem_executions_started_total'), total, `started matches the executions in the database (${total})`);
  t.equal(m.sum('tandem_executions_running'), 0);
  t.ok(db.succeeded >= 3 + 3 && db.failed === 2 && db.timedout === 1 && db.aborted === 1, 'every outcome happened');

  const started = (await ts.pool.query(`select count(*)::int as n from tandem.schedule_firings where outcome = 'started'`)).rows[0].n;
  t.equal(m.sum('tandem_schedule_firings_total', { outcome: 'started' }), started, 'started firings match the database');
  t.equal(m.sum('tandem_schedule_firing_delay_seconds_count'), started, 'each started firing has its delay observed');
  t.ok(m.sum('tandem_schedule_firing_delay_seconds_sum') >= 0);

  let lines = 0;
  for (const r of (await ts.pool.query('select id from tandem.executions')).rows) lines += (await readOutput(ts, r.id)).length;
  t.equal(m.sum('tandem_log_lines_written_total'), lines, `log lines counted = lines in the logs (${lines})`);

  t.equal(m.sum('tandem_http_requests_total', { method: 'POST', route: '/api/v1/jobs/:id/run', status: '201' }), 7, 'runs counted by route pattern');
  t.ok(m.sum('tandem_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/jobs/:id/run' }) === 7, 'and timed');
  t.ok(m.sum('tandem_http_requests_total', { route: '/api/v1/executions/:id', status: '200' }) > 0);
  t.same(suspiciousLabels(m, ['ok', 'bad', 'every-second'].map((n) => `/${n}`)), [], 'no id or name in any label');
});

t.test('request ids, unmatched routes and the endpoint itself', async (t) => {
  const pg = await startPostgres(t, { name: 'metrics-http' });
  const ts = await startTestServer(t, pg);
  const given = await fetch(`${ts.url}/api/v1/system/info`, { headers: { authorization: `Bearer ${ts.token}`, 'x-request-id': 'req-123.abc' } });
  t.equal(given.headers.get('x-request-id'), 'req-123.abc', 'a sane caller id is kept');
  const hostile = await fetch(`${ts.url}/api/v1/system/info`, { headers: { authorization: `Bearer ${ts.token}`, 'x-request-id': 'a b {"x":1} ' + 'y'.repeat(200) } });
  t.match(hostile.headers.get('x-request-id'), /^[0-9a-f-]{36}$/, 'an unusable one is replaced by a fresh id');

  for (let i = 0; i < 3; i++) await fetch(`${ts.url}/no/such/${crypto.randomUUID()}`);
  await fetch(`${ts.url}/api/v1/executions/${crypto.randomUUID()}`, { headers: { authorization: `Bearer ${ts.token}` } });
  const res = await fetch(`${ts.url}/metrics`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  t.equal(res.headers.get('cache-control'), 'no-store');
  const m = parseMetrics(await res.text());
  t.equal(m.sum('tandem_http_requests_total', { route: 'unmatched', status: '404' }), 3, 'unknown paths count as one unmatched route');
  t.equal(m.sum('tandem_http_requests_total', { route: '/api/v1/executions/:id', status: '404' }), 1);
  const again = await scrape(ts.url);
  t.ok(again.sum('tandem_http_requests_total', { method: 'GET', route: '/metrics', status: '200' }) >= 1, 'scrapes are counted under their own route');
  t.same(suspiciousLabels(m), [], 'no path or id became a label value');
  for (const s of m.series) t.ok(s.labels.member === ts.server.member || !s.name.startsWith('tandem_'), 'every series names its member') || t.fail(s.name);

  const post = await fetch(`${ts.url}/metrics`, { method: 'POST' });
  t.equal(post.status, 405);
  t.equal(((await post.json()) as any).error.code, 'method_not_allowed');
  const unauth = await fetch(`${ts.url}/metrics`);
  t.equal(unauth.status, 200, 'no credentials needed (like the health checks)');
});
