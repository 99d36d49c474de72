/**
 * Cluster members across a planned switchover (server/cluster/README.md):
 * two replicated sites a → b, two in-process job-server members per site,
 * remote execution policy roundRobin on both. Before: a's runs are spread
 * over a's members; b's members are listed by b while b is passive and take
 * nothing. After the switchover to b: b's runs are spread over b's members,
 * a scheduled job fires on b once per firing, and a's members are listed as
 * members of a passive site (`site.role` beside the members).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { freePort } from '../../server/embedded/net.js';
import { failover, startReplication, startSiteServer, startSites, waitFor, type Sites, type TestSite } from '../failover/helpers.js';
import { client, type Api } from './helpers.js';

const run = promisify(execFile);
const tandem = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/tandem.js');

t.test('members of both sites across a planned switchover', async (t) => {
  const sites = await startSites(t);
  const { a, b, token } = sites;
  startReplication(t, a, b);
  // The first member of a site listens on the site's URL (sites.entries), the second on a port of its own.
  const member = async (site: TestSite, name: string, first: boolean): Promise<Api> => {
    const server = await startSiteServer(t, site, sites as Sites, {
      'server.memberName': name,
      ...(first ? {} : { 'server.port': await freePort() }),
      'cluster.remoteExecution.policy': 'roundRobin',
      // A member's round-robin turn is shared by its run requests and its firings: the schedule runs where it fired,
      // so that the spread of the run requests below is exact (as in policy.test.ts).
      'cluster.remoteExecution.profiles': { local: { projects: ['sched'], policy: 'none' } },
    });
    return client(server.url, token);
  };
  const a1 = await member(a, 'a1', true);
  const a2 = await member(a, 'a2', false);
  const b1 = await member(b, 'b1', true);
  const b2 = await member(b, 'b2', false);

  const importJob = async (project: string, job: unknown) => {
    t.equal((await a1('POST', '/api/v1/projects', { name: project })).status, 201, `project ${project} on a`);
    const imp = await a1('POST', `/api/v1/projects/${project}/jobs`, [job]);
    t.equal(imp.status, 201, `job imported in ${project} on a`);
    return imp.body.jobs[0].id as string;
  };
  const quick = await importJob('ops', { name: 'quick', multipleExecutions: true, sequence: { commands: [{ exec: 'echo quick' }] } });
  const tick = await importJob('sched', {
    name: 'tick',
    multipleExecutions: true,
    schedule: { crontab: '0/2 * * * * ?' },
    sequence: { commands: [{ exec: 'echo tick' }] },
  });

  const spreadOfRuns = async (via: Api, n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const r = await via('POST', `/api/v1/jobs/${quick}/run`, {});
      if (r.status !== 201) throw new Error(`run answered ${r.status}: ${JSON.stringify(r.body)}`);
      ids.push(r.body.id);
    }
    const done = await Promise.all(
      ids.map((id) =>
        waitFor(`execution ${id} to end`, async () => {
          const r = await via('GET', `/api/v1/executions/${id}`);
          return ['succeeded', 'failed', 'aborted', 'timedout'].includes(r.body.status) ? r.body : undefined;
        }),
      ),
    );
    const spread: Record<string, number> = {};
    for (const e of done) spread[`${e.member} ${e.status}`] = (spread[`${e.member} ${e.status}`] ?? 0) + 1;
    return spread;
  };
  const listed = async (via: Api) => {
    const r = await via('GET', '/api/v1/system/members');
    return { site: r.body.site, members: r.body.members.map((m: any) => ({ name: m.name, state: m.state, scheduler: m.scheduler, running: m.runningExecutions })) };
  };

  await t.test('before: a runs on its two members; b lists its members, passive, and takes nothing', async (t) => {
    t.same(await spreadOfRuns(a1, 6), { 'a1 succeeded': 3, 'a2 succeeded': 3 }, 'round robin over a1 and a2');
    // A member reports its scheduler with a heartbeat as soon as its site monitor confirmed the site active;
    // the listing may be read before the second member's first confirmation (seen in CI: both listed off).
    const onA = await waitFor('a to list both members active, their schedulers on', async () => {
      const l = await listed(a2);
      return l.members.filter((m: any) => m.state === 'active' && m.scheduler).length === 2 ? l : undefined;
    });
    t.same(onA.site, { name: 'a', role: 'active', activeUrl: a.url }, "a's members: an active site");
    t.same(onA.members.map((m: any) => [m.name, m.scheduler]), [['a1', true], ['a2', true]], 'both may fire');

    const onB = await waitFor('b to list both members active', async () => {
      const l = await listed(b2);
      return l.members.filter((m: any) => m.state === 'active').length === 2 ? l : undefined;
    });
    t.same(onB.site, { name: 'b', role: 'passive', activeUrl: a.url }, "b's members: a passive site, writes go to a");
    t.same(onB.members, [
      { name: 'b1', state: 'active', scheduler: false, running: 0 },
      { name: 'b2', state: 'active', scheduler: false, running: 0 },
    ], 'b1 and b2 heartbeat on the passive site, fire nothing, run nothing');
    const refused = await b1('POST', `/api/v1/jobs/${quick}/run`, {});
    t.same([refused.status, refused.body?.error?.code], [503, 'site_passive'], 'a run asked of b is refused');
    await waitFor("a's runs replicated to b", async () => (await b.q(`select count(*)::int as n from tandem.executions where job_id = $1`, [quick])).rows[0].n === 6);
    const ranOnB = await b.q(`select count(*)::int as n from tandem.executions where member in ('b1', 'b2')`);
    t.equal(ranOnB.rows[0].n, 0, "no execution in b's database ran on b's members");
  });

  let switchedAt = new Date();
  await t.test('planned switchover to b', async (t) => {
    const asked = new Date();
    const res = await failover(sites, { to: 'b', reverse: true });
    t.equal(res.outcome, 'done');
    switchedAt = new Date();
    const before = await b.q(`select distinct member from tandem.executions where created_at < $1 order by member`, [asked]);
    t.same(before.rows.map((r) => r.member), ['a1', 'a2'], 'everything before the switch ran on a1 or a2 (b took nothing while passive)');
  });

  await t.test('after: b runs on its two members and fires the schedule once per firing', async (t) => {
    await waitFor('b to answer 200 on /health/active', async () => (await fetch(b.url + '/health/active')).status === 200);
    t.same(await spreadOfRuns(b1, 6), { 'b1 succeeded': 3, 'b2 succeeded': 3 }, 'round robin over b1 and b2');
    // A member reports its scheduler with a heartbeat as soon as its site monitor saw the promotion; the one
    // that saw it last may not have yet (seen in CI: b2 listed with its scheduler off while it already fired).
    const onB = await waitFor("b's members to report their schedulers on", async () => {
      const l = await listed(b1);
      return l.members.every((m: any) => m.scheduler) ? l : undefined;
    }, 10_000, 100);
    t.same(onB.site, { name: 'b', role: 'active', activeUrl: b.url }, "b's members: an active site");
    t.same(onB.members.map((m: any) => [m.name, m.state, m.scheduler]), [['b1', 'active', true], ['b2', 'active', true]], 'both active, both may fire');

    const firings = async () =>
      (
        await b.q(
          `select f.scheduled_time, f.member, f.outcome, f.execution_id, e.member as ran_on, e.status,
                  (select count(*)::int from tandem.executions x where x.job_id = f.job_id and x.trigger = 'schedule' and x.scheduled_time = f.scheduled_time) as executions
             from tandem.schedule_firings f left join tandem.executions e on e.id = f.execution_id
            where f.job_id = $1 and f.scheduled_time > $2 order by f.scheduled_time`,
          [tick, switchedAt],
        )
      ).rows;
    const fired = await waitFor('three firings on b, ended', async () => {
      const rows = await firings();
      return rows.length >= 3 && rows.slice(0, 3).every((r) => r.status === 'succeeded') ? rows.slice(0, 3) : undefined;
    }, 20_000);
    t.ok(fired.every((f) => ['b1', 'b2'].includes(f.member) && f.ran_on === f.member), `fired by and ran on ${fired.map((f) => f.member)}`);
    t.same(fired.map((f) => [f.outcome, f.executions]), [['started', 1], ['started', 1], ['started', 1]], 'each firing started exactly one execution');
    const slots = fired.map((f) => f.scheduled_time.getTime());
    t.same(slots.slice(1).map((s, i) => s - slots[i]!), [2000, 2000], 'consecutive slots, none missed');
  });

  await t.test("after: a's members are listed as members of a passive site and take nothing", async (t) => {
    const onA = await listed(a1);
    t.same(onA.site, { name: 'a', role: 'passive', activeUrl: b.url }, "a's members: a passive site, writes go to b");
    t.same(onA.members.map((m: any) => [m.name, m.state, m.scheduler]), [['a1', 'active', false], ['a2', 'active', false]], 'still heartbeating, scheduler off');
    const refused = await a2('POST', `/api/v1/jobs/${quick}/run`, {});
    t.same([refused.status, refused.body?.error?.code], [503, 'site_passive'], 'a run asked of a is refused');
    const late = await a.q(`select count(*)::int as n from tandem.schedule_firings where fired_at > $1`, [switchedAt]);
    t.equal(late.rows[0].n, 0, 'a fired nothing after the switchover');
    const { stdout } = await run(process.execPath, [tandem, 'members', '--database-url', a.dbUrl]);
    t.match(stdout, new RegExp(`site a is passive \\(active site: ${b.url.replace(/[.]/g, '\\.')}\\)$`, 'm'), 'tandem members says so too');
  });
});
