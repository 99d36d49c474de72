/**
 * Passive mode: a passive site serves reads of the replicated data, refuses
 * every write with 503 site_passive naming the active site, fires no
 * schedule and runs nothing; its database defaults to read-only
 * transactions; only the active site answers 200 on /health/active.
 */
import t from 'tap';
import pg from 'pg';
import { api, count, startReplication, startSiteServer, startSites, waitFor, watchActive } from './helpers.js';
import { assertWritable, siteRole } from '../../server/site/guard.js';

const job = `- name: tick
  schedule:
    crontab: '* * * ? * * *'
  multipleExecutions: true
  sequence:
    commands:
    - exec: echo tick
`;

t.test('passive site: reads, 503 on writes, no schedules, read-only database', async (t) => {
  const sites = await startSites(t);
  const { a, b, token } = sites;
  startReplication(t, a, b);
  await startSiteServer(t, a, sites, { 'scheduler.enabled': true });
  await startSiteServer(t, b, sites, { 'scheduler.enabled': true });
  const watcher = watchActive(t, [a, b]);

  t.equal((await api(a, token, 'POST', '/api/v1/projects', { name: 'ops', description: 'd' })).status, 201, 'project created on the active site');
  const created = await api(a, token, 'POST', '/api/v1/projects/ops/jobs', job, { 'content-type': 'application/yaml' });
  t.ok(created.status < 300, `job created on a (${created.status} ${created.text.slice(0, 200)})`);

  // The schedule fires on a (every second); its executions reach b.
  await waitFor('a firing on a', async () => (await count(a, `tandem.schedule_firings where member = 'member-a'`)) > 0, 20_000);
  await waitFor('an execution of a replicated to b', async () => (await count(b, `tandem.executions where status = 'succeeded'`)) > 0, 20_000);

  // Reads on b, with a token created on a (replicated).
  const projects = await api(b, token, 'GET', '/api/v1/projects');
  t.equal(projects.status, 200, 'b serves reads');
  t.ok(JSON.stringify(projects.body).includes('ops'), 'b lists the replicated project');
  const execs = await api(b, token, 'GET', '/api/v1/projects/ops/executions');
  t.equal(execs.status, 200, 'b lists executions');

  // Every write on b: 503 site_passive naming a.
  const writes = [
    await api(b, token, 'POST', '/api/v1/projects', { name: 'nope' }),
    await api(b, token, 'POST', '/api/v1/projects/ops/jobs', job.replace('tick', 'tock'), { 'content-type': 'application/yaml' }),
    await api(b, token, 'DELETE', '/api/v1/projects/ops'),
  ];
  for (const w of writes) {
    t.equal(w.status, 503, 'write on the passive site → 503');
    t.equal(w.body?.error?.code, 'site_passive');
    t.equal(w.body?.error?.activeSite, a.url, 'the answer names the active site');
  }
  const jobId = (await a.q<{ id: string }>('select id from tandem.jobs')).rows[0]!.id;
  const run = await api(b, token, 'POST', `/api/v1/jobs/${jobId}/run`, {});
  t.equal(run.status, 503, 'running a job on the passive site → 503');
  t.equal(run.body?.error?.code, 'site_passive');

  // Health.
  t.equal((await fetch(a.url + '/health/active')).status, 200, 'a: /health/active 200');
  const bActive = await fetch(b.url + '/health/active');
  t.equal(bActive.status, 503, 'b: /health/active 503');
  const ready = (await (await fetch(b.url + '/health/ready')).json()) as any;
  t.equal(ready.role, 'passive', 'b ready, passive');
  t.ok(ready.replication?.appliedLsn, 'b reports its replication position');
  t.equal((await fetch(b.url + '/health/live')).status, 200);

  // b's scheduler fired nothing: every firing on b came from a.
  t.equal(await count(b, `tandem.schedule_firings where member <> 'member-a'`), 0, 'no firing made by b');
  t.equal(await count(b, `tandem.executions where member <> 'member-a'`), 0, 'nothing executed by b');

  // The application's sessions on b default to read-only transactions; the guard refuses inside a transaction.
  const app = new pg.Client({ connectionString: b.dbUrl });
  await app.connect();
  try {
    t.equal((await app.query('show default_transaction_read_only')).rows[0].default_transaction_read_only, 'on');
    await t.rejects(app.query(`insert into tandem.projects (name) values ('x')`), /read-only transaction/, 'a plain write is refused by the database');
    await app.query('begin read write');
    t.equal(await siteRole(app), 'passive');
    await t.rejects(assertWritable(app), { code: 'site_passive' }, 'guard refuses inside a read-write transaction');
    await t.rejects(assertWritable(app, 'finish'), { code: 'site_passive' }, 'finishing is refused too on a passive site (only draining allows it)');
    await app.query('rollback');
  } finally {
    await app.end();
  }
  const aApp = new pg.Client({ connectionString: a.dbUrl });
  await aApp.connect();
  t.equal((await aApp.query('show default_transaction_read_only')).rows[0].default_transaction_read_only, 'off', 'a is read-write');
  await aApp.end();

  await watcher.stop();
  t.ok(watcher.rounds() > 5, `watcher polled (${watcher.rounds()} rounds)`);
  t.same(watcher.violations, [], 'never two sites answering 200 on /health/active');
});
