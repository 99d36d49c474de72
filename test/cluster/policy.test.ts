/**
 * The remote execution policy and schedules in a cluster
 * (server/cluster/README.md): three `tandem server` members on one
 * database; the member that takes a run hands it to the member the policy
 * picks, through the database.
 */
import t, { type Test } from 'tap';
import { once } from 'node:events';
import { startCluster, type Member } from './helpers.js';
import { waitFor } from '../server/helpers.js';

const profiles = {
  fixed: { projects: ['preset'], policy: 'preset', preset: 'm3' },
  gpu: { projects: ['tagged'], policy: 'random', allowedTags: 'gpu+linux,never' },
  local: { projects: ['sched'], policy: 'none' },
};

t.test('remote execution policy', async (t) => {
  const cluster = await startCluster(t, 'policy', {
    TANDEM_CLUSTER_REMOTE_EXECUTION_POLICY: 'roundRobin',
    TANDEM_CLUSTER_REMOTE_EXECUTION_PROFILES: JSON.stringify(profiles),
  });
  const m1 = await cluster.start('m1', { TANDEM_SERVER_TAGS: 'linux' });
  const m2 = await cluster.start('m2', { TANDEM_SERVER_TAGS: 'linux,gpu' });
  const m3 = await cluster.start('m3', { TANDEM_SERVER_TAGS: 'windows,gpu' });
  const members: Member[] = [m1, m2, m3];
  const jobs: Record<string, string> = {};
  for (const project of ['rr', 'preset', 'tagged']) {
    await m1.api('POST', '/api/v1/projects', { name: project });
    const imp = await m1.api('POST', `/api/v1/projects/${project}/jobs`, [
      { name: 'quick', multipleExecutions: true, sequence: { commands: [{ exec: 'echo "ran on $TANDEM_EXECUTION_ID"' }] } },
    ]);
    jobs[project] = imp.body.jobs[0].id;
  }
  const ended = (id: string) =>
    waitFor(`execution ${id} to end`, async () => {
      const r = await m1.api('GET', `/api/v1/executions/${id}`);
      return ['succeeded', 'failed', 'aborted', 'timedout'].includes(r.body.status) ? r.body : undefined;
    });
  const runAll = async (t: Test, project: string, n: number, via: Member = m1) => {
    const answers = [];
    for (let i = 0; i < n; i++) {
      const r = await via.api('POST', `/api/v1/jobs/${jobs[project]}/run`, {});
      if (r.status !== 201) t.fail(`run answered ${r.status}: ${JSON.stringify(r.body)}`);
      answers.push(r.body);
    }
    const done = await Promise.all(answers.map((a) => ended(a.id)));
    return { answers, done };
  };
  const spread = (rows: { member: string }[]) => {
    const c: Record<string, number> = {};
    for (const r of rows) c[r.member] = (c[r.member] ?? 0) + 1;
    return c;
  };

  await t.test('round robin spreads 30 runs evenly; the answer names the member; each runs once where it was handed', async (t) => {
    const { answers, done } = await runAll(t, 'rr', 30);
    t.same(spread(answers), { m1: 10, m2: 10, m3: 10 }, 'the answers say which member runs each');
    t.same(spread(done), { m1: 10, m2: 10, m3: 10 }, 'and each ran there');
    t.ok(done.every((e) => e.status === 'succeeded'));
    const { rows } = await cluster.pool.query(`select count(*)::int as n from tandem.executions e join tandem.projects p on p.id = e.project_id where p.name = 'rr'`);
    t.equal(rows[0].n, 30, 'no execution twice');
  });

  await t.test('preset always picks the named member', async (t) => {
    const { done } = await runAll(t, 'preset', 6, m2);
    t.same(spread(done), { m3: 6 });
  });

  await t.test('tags restrict the candidates', async (t) => {
    const { done } = await runAll(t, 'tagged', 6, m3);
    t.same(spread(done), { m2: 6 }, 'only m2 has gpu+linux');
  });

  await t.test('a disabled member receives nothing', async (t) => {
    t.equal((await m1.api('POST', '/api/v1/system/members/m3/executions/disable')).status, 200);
    const { done } = await runAll(t, 'rr', 12);
    t.same(spread(done), { m1: 6, m2: 6 });
    const preset = await m1.api('POST', `/api/v1/jobs/${jobs.preset}/run`, {});
    t.same([preset.status, preset.body.error?.code], [503, 'unavailable'], 'preset to a disabled member: refused, nothing created');
    await m1.api('POST', '/api/v1/system/members/m3/executions/enable');
  });

  await t.test('the chosen member dying before it starts the execution: handed to another, run once', async (t) => {
    m2.child.kill('SIGSTOP');
    // m2 stays a candidate until it is inactive (3 s): round robin hands it one of these runs.
    let handed: any;
    for (let i = 0; i < 3 && !handed; i++) {
      const r = await m1.api('POST', `/api/v1/jobs/${jobs.rr}/run`, {});
      if (r.body.member === 'm2') handed = r.body;
      else await ended(r.body.id);
    }
    t.ok(handed, 'one run was handed to m2');
    t.equal(handed.status, 'queued');
    m2.child.kill('SIGKILL');
    await once(m2.child, 'exit');
    const done = await ended(handed.id);
    t.equal(done.status, 'succeeded');
    t.ok(['m1', 'm3'].includes(done.member), `handed to ${done.member}`);
    const out = await m1.api('GET', `/api/v1/executions/${handed.id}/output`);
    t.equal(out.body.entries.filter((e: any) => /^execution .* started on/.test(e.text)).length, 1, 'started once');
  });

  await t.test('schedules: the member that fired last is killed -9, the next firing is on time on another member', async (t) => {
    await m1.api('POST', '/api/v1/projects', { name: 'sched' });
    const imp = await m1.api('POST', '/api/v1/projects/sched/jobs', [
      { name: 'tick', multipleExecutions: true, schedule: { crontab: '0/2 * * * * ?' }, sequence: { commands: [{ exec: 'true' }] } },
    ]);
    const jobId = imp.body.jobs[0].id;
    const firings = async () =>
      (await cluster.pool.query(`select scheduled_time, fired_at, member, outcome from tandem.schedule_firings where job_id = $1 order by scheduled_time`, [jobId])).rows;
    const first = await waitFor('a firing', async () => (await firings()).find((f) => f.outcome === 'started'));
    const victim = members.find((m) => m.name === first.member)!;
    victim.child.kill('SIGKILL');
    await once(victim.child, 'exit');
    const killedAt = new Date();
    const next = await waitFor('the next firing after the kill', async () => (await firings()).find((f) => f.scheduled_time > killedAt && f.outcome === 'started'));
    t.not(next.member, victim.name, `fired by ${next.member}`);
    const lateMs = next.fired_at.getTime() - next.scheduled_time.getTime();
    t.ok(lateMs < 2000, `on time (before the next slot): ${lateMs} ms after its scheduled time`);
    const slots = (await firings()).filter((f) => f.scheduled_time > first.scheduled_time && f.scheduled_time <= next.scheduled_time);
    t.ok(slots.every((f) => f.outcome === 'started'), 'no firing missed');
    t.equal(new Set(slots.map((f) => f.scheduled_time.getTime())).size, slots.length, 'each firing once');
  });

  for (const m of members) if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGTERM');
});
