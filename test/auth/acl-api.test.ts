import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { startTestServer } from '../server/helpers.js';
import { createToken } from '../../server/auth/tokens.js';
import { waitFor } from './helpers.js';

const POLICY = `
description: Developers do anything with jobs in ops, but never delete production jobs.
context:
  project: 'ops'
for:
  job:
    - allow: '*'
    - match: { name: 'prod-.*' }
      deny: [delete]
  execution:
    - allow: [read, kill]
by:
  group: dev
---
description: Developers see the ops project and system information.
context:
  application: tandem
for:
  project:
    - equals: { name: ops }
      allow: [read]
  system:
    - allow: [read]
by:
  group: dev
`;

const ADMIN_POLICY = `
description: Admins everywhere.
context:
  project: '.*'
for:
  job: [{ allow: '*' }]
  execution: [{ allow: '*' }]
by:
  group: admin
---
description: Admins at application level.
context:
  application: tandem
for:
  project: [{ allow: '*' }]
  system: [{ allow: '*' }]
  token: [{ allow: '*' }]
  audit: [{ allow: '*' }]
by:
  group: admin
`;

const pgs = await startPostgres(t, { name: 'acl-api' });

const job = (name: string) => [{ name, sequence: { commands: [{ exec: 'true' }] } }];

async function as(url: string, token: string, method: string, p: string, body?: unknown) {
  const res = await fetch(url + p, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

t.test('ACL policies from a directory on the real job server API: allow, deny wins, default deny', async (t) => {
  const dir = await tempDir(t, 'acl');
  writeFileSync(path.join(dir, 'dev.aclpolicy'), POLICY);
  writeFileSync(path.join(dir, 'admin.aclpolicy'), ADMIN_POLICY);
  writeFileSync(path.join(dir, 'README.txt'), 'not a policy: ignored');
  const ts = await startTestServer(t, pgs, { overrides: { 'auth.aclDir': dir } });
  const dev = (await createToken(ts.pool, { user: 'dana', roles: ['dev'] })).token;
  const guest = (await createToken(ts.pool, { user: 'gus', roles: ['guest'] })).token;
  for (const name of ['ops', 'other']) t.equal((await ts.api('POST', '/api/v1/projects', { name })).status, 201, `admin creates ${name}`);

  await t.test('allowed by a rule', async (t) => {
    t.equal((await as(ts.url, dev, 'GET', '/api/v1/projects/ops')).status, 200);
    const imported = await as(ts.url, dev, 'POST', '/api/v1/projects/ops/jobs', [...job('test-job'), ...job('prod-deploy')]);
    t.equal(imported.status, 201, 'create allowed by allow: *');
    const ids = Object.fromEntries(imported.body.jobs.map((j: { name: string; id: string }) => [j.name, j.id]));
    const run = await as(ts.url, dev, 'POST', `/api/v1/jobs/${ids['prod-deploy']}/run`, {});
    t.equal(run.status, 201, 'run allowed');
    t.equal((await as(ts.url, dev, 'DELETE', `/api/v1/jobs/${ids['test-job']}`)).status, 204, 'delete allowed for a non-production job');

    await t.test('deny wins over allow', async (t) => {
      const r = await as(ts.url, dev, 'DELETE', `/api/v1/jobs/${ids['prod-deploy']}`);
      t.equal(r.status, 403);
      t.equal(r.body.error.code, 'forbidden');
      t.equal(r.body.error.message, 'not allowed to delete job ops/prod-deploy');
      t.equal(r.body.error.action, 'delete');
      t.equal((await as(ts.url, dev, 'GET', `/api/v1/jobs/${ids['prod-deploy']}`)).status, 200, 'the job is still there');
    });
  });

  await t.test('no rule means denied', async (t) => {
    const other = await as(ts.url, dev, 'GET', '/api/v1/projects/other');
    t.equal(other.status, 403, 'another project');
    t.match(other.body.error.message, /not allowed to read project other/);
    t.equal((await as(ts.url, dev, 'POST', '/api/v1/projects/other/jobs', job('x'))).status, 403, 'jobs in another project');
    t.equal((await as(ts.url, dev, 'POST', '/api/v1/projects', { name: 'mine' })).status, 403, 'creating projects');
    t.equal((await as(ts.url, guest, 'GET', '/api/v1/system/info')).status, 403, 'a role no policy names');
    t.equal((await as(ts.url, dev, 'GET', '/api/v1/audit')).status, 403, 'the audit trail');
    t.equal((await as(ts.url, dev, 'POST', '/api/v1/tokens', {})).status, 403, 'tokens, when no policy grants them');
  });

  await t.test('denials are audited and admins read the audit trail', async (t) => {
    const rows = await waitFor(async () => {
      const { rows } = await ts.pool.query("select username, target, details from tandem.audit_events where event = 'acl.denied' and username = 'dana' order by at");
      return rows.length >= 6 ? rows : undefined;
    }, 'the denial audit rows');
    t.ok(rows.some((r) => r.target === 'job ops/prod-deploy' && r.details.action === 'delete'));
    const audit = await ts.api('GET', '/api/v1/audit?event=acl.denied&user=dana&limit=2');
    t.equal(audit.status, 200);
    t.equal(audit.body.events.length, 2);
    t.type(audit.body.next, 'string', 'a cursor for the next page');
    const older = await ts.api('GET', `/api/v1/audit?event=acl.denied&user=dana&before=${encodeURIComponent(audit.body.next)}`);
    t.ok(older.body.events.length >= 1);
    t.ok(older.body.events.every((e: { at: string }) => e.at < audit.body.next), 'older page');
    t.equal((await ts.api('GET', '/api/v1/audit?limit=0')).status, 400);
  });

  await t.test('successful changes are audited with who did them', async (t) => {
    const { rows } = await ts.pool.query("select event, target, details from tandem.audit_events where username = 'dana' and outcome = 'success' order by at");
    const events = rows.map((r) => r.event);
    t.same(events, ['job.created', 'execution.started', 'job.deleted']);
    t.same(rows[0].details.jobs.map((j: { name: string }) => j.name).sort(), ['prod-deploy', 'test-job'], 'the imported jobs are named');
    t.type(rows[1].details.id, 'string', 'the execution id is recorded');
    const admin = await ts.pool.query("select event from tandem.audit_events where username = 'admin' and event = 'project.created'");
    t.equal(admin.rows.length, 2, 'project creation by the admin token');
  });
});

t.test('the embedded default policy: admin everything, user read and run, others nothing', async (t) => {
  const ts = await startTestServer(t, pgs);
  const user = (await createToken(ts.pool, { user: 'uma', roles: ['user'] })).token;
  const nobody = (await createToken(ts.pool, { user: 'nina', roles: [] })).token;
  t.equal((await ts.api('POST', '/api/v1/projects', { name: 'web' })).status, 201);
  const imported = await ts.api('POST', '/api/v1/projects/web/jobs', job('hello'));
  const id = imported.body.jobs[0].id;
  t.equal((await as(ts.url, user, 'GET', '/api/v1/projects/web')).status, 200, 'user reads a project');
  t.equal((await as(ts.url, user, 'GET', `/api/v1/jobs/${id}`)).status, 200, 'user reads a job');
  t.equal((await as(ts.url, user, 'POST', `/api/v1/jobs/${id}/run`, {})).status, 201, 'user runs a job');
  t.equal((await as(ts.url, user, 'DELETE', `/api/v1/jobs/${id}`)).status, 403, 'user may not delete a job');
  t.equal((await as(ts.url, user, 'POST', '/api/v1/projects', { name: 'x' })).status, 403, 'user may not create a project');
  t.equal((await as(ts.url, user, 'GET', '/api/v1/audit')).status, 403, 'user may not read the audit trail');
  t.equal((await as(ts.url, nobody, 'GET', '/api/v1/projects/web')).status, 403, 'no role, no access');
  t.equal((await as(ts.url, nobody, 'GET', '/api/v1/me')).status, 200, 'but /me works for anyone authenticated');
  t.equal((await ts.api('DELETE', `/api/v1/jobs/${id}`)).status, 204, 'admin deletes');

  const sleepy = await ts.api('POST', '/api/v1/projects/web/jobs', [{ name: 'sleepy', sequence: { commands: [{ exec: 'sleep 30' }] } }]);
  const run = await ts.api('POST', `/api/v1/jobs/${sleepy.body.jobs[0].id}/run`, {});
  t.equal(run.status, 201);
  t.equal((await as(ts.url, user, 'POST', `/api/v1/executions/${run.body.id}/abort`)).status, 403, 'user may not kill');
  const abort = await ts.api('POST', `/api/v1/executions/${run.body.id}/abort`);
  t.ok(abort.status < 300, `admin aborts (${abort.status})`);
  const { rows } = await ts.pool.query("select event, target, details from tandem.audit_events where username = 'admin' and event like 'execution.%' order by at");
  t.same(rows.map((r) => r.event), ['execution.started', 'execution.aborted']);
  t.equal(rows[1].target, `/api/v1/executions/${run.body.id}/abort`);
});
