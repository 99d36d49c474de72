/**
 * The Jobs list API the web UI's Jobs page reads: search (`q`, case-insensitive,
 * wildcards taken literally), one group (`group`), the group tree (`groups=1`),
 * paging in SQL, and the same answers computed job by job when an ACL policy
 * hides single jobs; next fire times of a job (`fireTimes`).
 */
import t from 'tap';
import { ADMIN_POLICY, aclDir } from '../harness/acl.js';
import { startPostgres } from '../harness/postgres.js';
import { startTestServer } from './helpers.js';
import { createToken } from '../../server/auth/tokens.js';
import { seedJobs } from '../ui/seed-jobs.js';

const AUDITOR_POLICY = `
description: Auditors read every job but those named secret-*.
context:
  project: '.*'
for:
  job:
    - allow: [read]
    - match: { name: 'secret-.*' }
      deny: [read]
by:
  group: auditor
---
description: Auditors see projects.
context:
  application: tandem
for:
  project: [{ allow: [read] }]
by:
  group: auditor
`;

const pgs = await startPostgres(t, { name: 'jobs-list' });
const ts = await startTestServer(t, pgs, { overrides: { 'auth.aclDir': await aclDir(t, ADMIN_POLICY, AUDITOR_POLICY) } });
const auditor = (await createToken(ts.pool, { user: 'ava', roles: ['auditor'] })).token;

async function as(token: string, p: string) {
  const res = await fetch(ts.url + p, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as any };
}

const job = (name: string, group?: string, extra: Record<string, unknown> = {}) => ({ name, ...(group ? { group } : {}), sequence: { commands: [{ exec: 'true' }] }, ...extra });

// Set-up without top-level asserts: the first assert of the root test would let tap end it (and tear the server down) early.
if ((await ts.api('POST', '/api/v1/projects', { name: 'ops' })).status !== 201) throw new Error('project ops not created');
const imported = await ts.api('POST', '/api/v1/projects/ops/jobs', [
  job('Deploy Web', 'apps/web'),
  job('deploy-db', 'apps/db'),
  job('backup', 'infra'),
  job('100%_done', 'infra'),
  job('1000 done'),
  job('secret-rotate', 'infra'),
  job('nightly', undefined, { schedule: { time: { hour: '02', minute: '30', seconds: '0' }, month: '*', weekday: { day: '*' }, year: '*' }, timeZone: 'Europe/Paris' }),
]);
if (imported.status !== 201) throw new Error(`import: ${imported.text}`);

const names = (b: any) => b.jobs.map((j: any) => j.name);

t.test('search, group and paging in SQL (a caller whose policy reads every job)', async (t) => {
  const all = await ts.api('GET', '/api/v1/projects/ops/jobs');
  t.equal(all.body.total, 7);
  t.same(all.body.jobs.map((j: any) => j.group ?? ''), ['', '', 'apps/db', 'apps/web', 'infra', 'infra', 'infra'], 'by group path, then name');

  const q = await ts.api('GET', '/api/v1/projects/ops/jobs?q=DEPLOY');
  t.same(names(q.body).sort(), ['Deploy Web', 'deploy-db'], 'q is case-insensitive, on the name');
  t.equal(q.body.total, 2);
  t.same(names((await ts.api('GET', '/api/v1/projects/ops/jobs?q=apps%2Fw')).body), ['Deploy Web'], 'q matches the group path too');
  t.same(names((await ts.api('GET', '/api/v1/projects/ops/jobs?q=%25')).body), ['100%_done'], 'a % in q is a plain character');
  t.same(names((await ts.api('GET', '/api/v1/projects/ops/jobs?q=_')).body), ['100%_done'], 'so is _ (not any one character)');
  t.same(names((await ts.api('GET', '/api/v1/projects/ops/jobs?q=%5C')).body), [], 'and a backslash');
  t.same(names((await ts.api('GET', '/api/v1/projects/ops/jobs?q=(a%2B)%2B%24')).body), [], 'a regular expression is only text');

  t.same(names((await ts.api('GET', '/api/v1/projects/ops/jobs?group=infra')).body), ['100%_done', 'backup', 'secret-rotate'], 'one group, directly');
  t.same(names((await ts.api('GET', '/api/v1/projects/ops/jobs?group=')).body), ['1000 done', 'nightly'], 'group= empty: outside any group');
  t.same(names((await ts.api('GET', '/api/v1/projects/ops/jobs?group=apps')).body), [], 'not the subgroups');

  const p1 = await ts.api('GET', '/api/v1/projects/ops/jobs?limit=3&offset=3');
  t.same([p1.body.total, p1.body.limit, p1.body.offset], [7, 3, 3]);
  t.same(names(p1.body), names(all.body).slice(3, 6), 'a page is the slice of the whole list');

  const groups = await ts.api('GET', '/api/v1/projects/ops/jobs?groups=1');
  t.same(groups.body.groups, [
    { group: '', count: 2 },
    { group: 'apps/db', count: 1 },
    { group: 'apps/web', count: 1 },
    { group: 'infra', count: 3 },
  ], 'group paths with their direct job counts');
  t.equal(groups.body.total, 7);
  t.same((await ts.api('GET', '/api/v1/projects/ops/jobs?groups=1&q=deploy')).body.groups, [
    { group: 'apps/db', count: 1 },
    { group: 'apps/web', count: 1 },
  ], 'with a search: only groups holding matches');

  const bad = await ts.api('GET', '/api/v1/projects/ops/jobs?q=' + 'x'.repeat(201));
  t.equal(bad.status, 400);
  t.equal(bad.body.error.field, 'q', 'a too long search is refused, naming q');
  t.equal((await ts.api('GET', '/api/v1/projects/ops/jobs?groups=yes')).status, 400, 'groups=1 only');
});

t.test('a policy that hides single jobs: filtered before paging and counting', async (t) => {
  const all = await as(auditor, '/api/v1/projects/ops/jobs');
  t.equal(all.status, 200);
  t.notOk(names(all.body).includes('secret-rotate'), 'the denied job is not listed');
  t.equal(all.body.total, 6, 'nor counted');
  const page = await as(auditor, '/api/v1/projects/ops/jobs?limit=2&offset=4');
  t.same(names(page.body), names(all.body).slice(4, 6), 'pages are slices of what the caller may read');
  t.equal(page.body.total, 6);
  t.same(names((await as(auditor, '/api/v1/projects/ops/jobs?q=ROTATE')).body), [], 'search does not find it');
  const groups = await as(auditor, '/api/v1/projects/ops/jobs?groups=1');
  t.same(groups.body.groups.find((g: any) => g.group === 'infra'), { group: 'infra', count: 2 }, 'group counts leave it out');
  t.equal(groups.body.total, 6);
});

t.test('next fire times in the job zone', async (t) => {
  const id = imported.body.jobs.find((j: any) => j.name === 'nightly').id;
  const one = await ts.api('GET', `/api/v1/jobs/${id}`);
  t.equal(one.body.schedule.nextFireTimes.length, 1, 'one by default');
  t.equal(one.body.schedule.nextFireTime, one.body.schedule.nextFireTimes[0]);
  const five = await ts.api('GET', `/api/v1/jobs/${id}?fireTimes=5`);
  const times: string[] = five.body.schedule.nextFireTimes;
  t.equal(times.length, 5);
  t.equal(five.body.schedule.timeZone, 'Europe/Paris');
  for (const iso of times) {
    const paris = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Paris', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
    t.equal(paris, '02:30', `${iso} is 02:30 in Paris`);
  }
  t.ok(times.every((x, i) => i === 0 || Date.parse(x) - Date.parse(times[i - 1]!) >= 23 * 3600_000), 'a day apart');
  t.equal((await ts.api('GET', `/api/v1/jobs/${id}?fireTimes=51`)).status, 400, 'at most 50');
});

t.test('5,000 jobs: a page and a group tree read through the index', async (t) => {
  t.equal((await ts.api('POST', '/api/v1/projects', { name: 'big' })).status, 201);
  await seedJobs(ts.pool, ts.api, 'big', { count: 5000, ungrouped: 1000, groups: 40 });
  const first = await ts.api('GET', '/api/v1/projects/big/jobs?limit=50');
  t.equal(first.body.total, 5000);
  t.equal(first.body.jobs.length, 50);
  t.equal(first.body.jobs[0].name, 'job-0001');
  const groups = await ts.api('GET', '/api/v1/projects/big/jobs?groups=1');
  t.equal(groups.body.groups.length, 41, 'ungrouped + 40 groups');
  t.equal(groups.body.total, 5000);
  t.equal((await ts.api('GET', '/api/v1/projects/big/jobs?q=job-4321')).body.total, 1, 'search finds one of 5,000');
  const plan = await ts.pool.query(
    `explain select j.id from tandem.jobs j join tandem.projects p on p.id = j.project_id
     where j.project_id = (select id from tandem.projects where name = 'big') and (null::text is null) order by j.group_path, j.name limit 50`,
  );
  const text = plan.rows.map((r: any) => r['QUERY PLAN']).join('\n');
  t.match(text, /Index Scan using jobs_project_id_group_path_name_key/, 'the first page is read from the (project, group, name) index, not sorted');
});
