/**
 * Planned switchover a → b while a takes writes and fires a schedule every
 * second: nothing acknowledged by a is missing at b, b fires the schedule and
 * a does not, a refuses writes; with --reverse a follows b without a new
 * copy, and switching back works. A watcher never sees two sites answer 200
 * on /health/active.
 */
import t from 'tap';
import { api, count, failover, startReplication, startSiteServer, startSites, waitFor, watchActive, type TestSite } from './helpers.js';

const job = `- name: tick
  schedule:
    crontab: '* * * ? * * *'
  multipleExecutions: true
  sequence:
    commands:
    - exec: echo tick
`;

/** Every primary key of `table` at `from` is present at `to`. */
async function missingAt(from: TestSite, to: TestSite, table: string, key: string): Promise<number> {
  const keys = (await from.q<{ k: string }>(`select (${key})::text as k from ${table}`)).rows.map((r) => r.k);
  const found = await to.q<{ n: number }>(`select count(*)::int as n from ${table} where (${key})::text = any($1::text[])`, [keys]);
  return keys.length - found.rows[0]!.n;
}

t.test('planned switchover a → b (--reverse) and back, zero data loss', async (t) => {
  const sites = await startSites(t);
  const { a, b, token } = sites;
  const forward = startReplication(t, a, b);
  await startSiteServer(t, a, sites, { 'scheduler.enabled': true });
  await startSiteServer(t, b, sites, { 'scheduler.enabled': true });
  const watcher = watchActive(t, [a, b]);

  t.equal((await api(a, token, 'POST', '/api/v1/projects', { name: 'ops' })).status, 201);
  t.ok((await api(a, token, 'POST', '/api/v1/projects/ops/jobs', job, { 'content-type': 'application/yaml' })).status < 300, 'scheduled job created on a');
  await waitFor('an execution of a replicated to b with its log record', async () => (await count(b, `tandem.log_objects where complete`)) > 0, 20_000);

  // A writer keeps creating projects on a during the switchover; every 201 must be at b afterwards.
  const acknowledged: string[] = [];
  let refused = 0;
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      const r = await api(a, token, 'POST', '/api/v1/projects', { name: `w${i}` });
      if (r.status === 201) acknowledged.push(`w${i}`);
      else if (r.status === 503 && r.body?.error?.code === 'site_passive') refused++;
      else throw new Error(`unexpected answer ${r.status} ${r.text}`);
    }
  })();
  await waitFor('some writes on a', async () => acknowledged.length >= 5);

  const lines: string[] = [];
  const res = await failover(sites, { to: 'b', reverse: true }, lines);
  writing = false;
  await writer;
  t.equal(res.outcome, 'done', 'switchover done');
  t.equal(res.newEpoch, 2, 'b takes epoch 2');
  t.ok(res.drainLsn, `drain point ${res.drainLsn}`);
  t.same(
    res.steps.map((s) => s.step),
    ['drain', 'fence', 'drain point', 'catch up', 'sequences', 'reverse', 'promote'],
    'every step ran, in order',
  );
  t.ok(lines.some((l) => /^\[7\/7\] promote: b is active with epoch 2 \(\d+\.\d\d s\)$/.test(l)), 'each step is printed with its duration');
  t.ok(lines.some((l) => l.startsWith('done: b is active')), 'result printed');
  t.ok(refused > 0 || acknowledged.length > 0, `writer: ${acknowledged.length} acknowledged, ${refused} refused`);

  // Zero data loss: everything a has (it is fenced, so it no longer changes) is at b.
  for (const [table, key] of [
    ['tandem.projects', 'id'],
    ['tandem.jobs', 'id'],
    ['tandem.executions', 'id'],
    ['tandem.schedule_firings', 'job_id, scheduled_time'],
    ['tandem.step_results', 'execution_id, step, node'],
    ['tandem.log_objects', 'execution_id'],
    ['tandem.audit_events', 'id'],
  ] as const) {
    t.equal(await missingAt(a, b, table, key), 0, `${table}: every row of a is at b (${await count(a, table)} rows)`);
  }
  const acked = await b.q<{ n: number }>(`select count(*)::int as n from tandem.projects where name = any($1::text[])`, [acknowledged]);
  t.equal(acked.rows[0]!.n, acknowledged.length, `all ${acknowledged.length} projects acknowledged by a are at b`);
  const unfinished = await a.q<{ n: number }>(`select count(*)::int as n from tandem.executions where status in ('queued', 'running')`);
  t.equal(unfinished.rows[0]!.n, 0, 'a left no execution unfinished');

  // Roles and behaviour after the switch.
  const roles = async () => (await Promise.all([a, b].map((s) => s.q(`select role, epoch::int from tandem_site.site`)))).map((r) => r.rows[0]);
  t.same(await roles(), [{ role: 'passive', epoch: 1 }, { role: 'active', epoch: 2 }], 'a passive (reverse), b active');
  await waitFor('b answers 200 on /health/active', async () => (await fetch(b.url + '/health/active')).status === 200, 10_000);
  t.equal((await fetch(a.url + '/health/active')).status, 503, 'a answers 503');
  const onA = await api(a, token, 'POST', '/api/v1/projects', { name: 'late' });
  t.equal(onA.status, 503, 'a refuses writes');
  t.equal(onA.body?.error?.activeSite, b.url, 'and names b');
  t.equal((await api(b, token, 'POST', '/api/v1/projects', { name: 'on-b' })).status, 201, 'b takes writes');

  const fencedAt = new Date();
  await waitFor('b fires the schedule', async () => (await count(b, `tandem.schedule_firings where member = 'member-b'`)) > 0, 15_000);
  const aFiredAfter = await a.q<{ n: number }>(`select count(*)::int as n from tandem.schedule_firings where member = 'member-a' and fired_at > $1`, [fencedAt]);
  t.equal(aFiredAfter.rows[0]!.n, 0, 'a fires nothing after the switchover');

  // --reverse: a follows b from the switch point, without a new copy.
  await forward.stop();
  startReplication(t, b, a);
  await waitFor('b\'s new project reaches a', async () => (await count(a, `tandem.projects where name = 'on-b'`)) === 1, 20_000);
  await waitFor('b\'s firings reach a', async () => (await count(a, `tandem.schedule_firings where member = 'member-b'`)) > 0, 20_000);

  // And back to a.
  const back = await failover(sites, { to: 'a', reverse: true });
  t.equal(back.outcome, 'done', 'switch back done');
  t.equal(back.newEpoch, 3, 'a takes epoch 3');
  t.same(await roles(), [{ role: 'active', epoch: 3 }, { role: 'passive', epoch: 2 }], 'a active, b passive');
  await waitFor('a answers 200 on /health/active', async () => (await fetch(a.url + '/health/active')).status === 200, 10_000);
  t.equal((await api(a, token, 'POST', '/api/v1/projects', { name: 'back-on-a' })).status, 201, 'a takes writes again');
  t.equal((await api(b, token, 'POST', '/api/v1/projects', { name: 'nope' })).status, 503, 'b refuses writes');
  t.equal(await missingAt(b, a, 'tandem.projects', 'id'), 0, 'everything b had is at a');

  const audit = await a.q(`select event, details->>'to' as to from tandem.audit_events where event = 'site.switchover' order by at`);
  t.same(audit.rows, [{ event: 'site.switchover', to: 'b' }, { event: 'site.switchover', to: 'a' }], 'both switchovers are in the audit log');

  await watcher.stop();
  t.ok(watcher.rounds() > 20, `watcher polled ${watcher.rounds()} rounds`);
  t.same(watcher.violations, [], 'never two sites answering 200 on /health/active');
});
