import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_POLICY } from '../harness/acl.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { startTestServer } from '../server/helpers.js';
import { createToken } from '../../server/auth/tokens.js';
import { testPool } from '../harness/pool.js';
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
    // What the caller may not read answers as if it did not exist (no probing for names) (the denial is still audited).
    t.equal(other.status, 404, 'another project');
    t.match(other.body.error.message, /no project named "other"/);
    t.equal((await as(ts.url, dev, 'POST', '/api/v1/projects/other/jobs', job('x'))).status, 404, 'jobs in another project');
    t.equal((await as(ts.url, dev, 'POST', '/api/v1/projects', { name: 'mine' })).status, 403, 'creating projects');
    t.equal((await as(ts.url, guest, 'GET', '/api/v1/system/info')).status, 403, 'a role no policy names');
    t.equal((await as(ts.url, dev, 'GET', '/api/v1/audit')).status, 403, 'the audit trail');
    t.equal((await as(ts.url, dev, 'POST', '/api/v1/tokens', {})).status, 403, 'tokens, when no policy grants them');
  });

  await t.test('denials are audited and admins read the audit trail', async (t) => {
    const rows = await waitFor('the denial audit rows', async () => {
      const { rows } = await ts.pool.query("select username, target, details from tandem.audit_events where event = 'acl.denied' and username = 'dana' order by at");
      return rows.length >= 6 ? rows : undefined;
    });
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
  t.equal((await as(ts.url, nobody, 'GET', '/api/v1/projects/web')).status, 404, 'no role, no access (not even to knowing it exists)');
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


t.test('changing a job is audited as job.updated, with who and what, by re-import and by PUT', async (t) => {
  const ts = await startTestServer(t, pgs);
  const olga = (await createToken(ts.pool, { user: 'olga', roles: ['admin'] })).token;
  t.equal((await ts.api('POST', '/api/v1/projects', { name: 'build' })).status, 201);
  const compile = (exec: string, description: string) => ({ name: 'compile', description, sequence: { commands: [{ exec }] } });

  const first = await as(ts.url, olga, 'POST', '/api/v1/projects/build/jobs', [compile('make', 'v1')]);
  t.equal(first.status, 201, 'job imported');
  const id: string = first.body.jobs[0].id;
  const again = await as(ts.url, olga, 'POST', '/api/v1/projects/build/jobs', [compile('make all', 'v2')]);
  t.equal(again.status, 201, 're-import of the changed job');
  t.same([again.body.created, again.body.updated, again.body.jobs[0].id], [0, 1, id], 'the same job, updated');
  const put = await as(ts.url, olga, 'PUT', `/api/v1/jobs/${id}`, compile('make check', 'v3'));
  t.equal(put.status, 200, 'job replaced by PUT');
  const mixed = await as(ts.url, olga, 'POST', '/api/v1/projects/build/jobs', [compile('make dist', 'v4'), ...job('package')]);
  t.same([mixed.status, mixed.body.created, mixed.body.updated], [201, 1, 1], 'an import that creates one job and changes another');
  const packageId: string = mixed.body.jobs.find((j: { name: string }) => j.name === 'package').id;
  t.equal((await ts.api('GET', `/api/v1/jobs/${id}`)).body.description, 'v4', 'the job holds the last change');

  const { rows } = await ts.pool.query("select event, outcome, username, client_addr, target, details from tandem.audit_events where username = 'olga' order by at, id");
  t.same(
    rows.map((r) => r.event),
    ['job.created', 'job.updated', 'job.updated', 'job.created', 'job.updated'],
    'one row per change: created, re-imported, replaced, then the mixed import as created + updated',
  );
  t.ok(rows.every((r) => r.outcome === 'success' && r.details.via === 'token'), 'by olga\'s token, successful');
  t.ok(rows.every((r) => /^(::ffff:)?127\.0\.0\.1$/.test(r.client_addr)), `from the client address (${rows[0]?.client_addr})`);
  t.same(rows[1].details.jobs, [{ id, name: 'compile' }], 're-import: names the changed job');
  t.same([rows[1].target, rows[1].details.method], ['/api/v1/projects/build/jobs', 'POST'], 're-import: the route');
  t.same([rows[2].target, rows[2].details.method, rows[2].details.id], [`/api/v1/jobs/${id}`, 'PUT', id], 'PUT: the job replaced');
  t.same(rows[3].details.jobs, [{ id: packageId, name: 'package' }], 'mixed import: the created job only');
  t.same(rows[4].details.jobs, [{ id, name: 'compile' }], 'mixed import: the changed job only');
});

t.test('the audit trail is append-only: UPDATE, DELETE and TRUNCATE are refused and change nothing', async (t) => {
  const ts = await startTestServer(t, pgs);
  t.equal((await ts.api('POST', '/api/v1/projects', { name: 'kept' })).status, 201);
  const failed = await fetch(`${ts.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'mallory', password: 'guess' }) });
  t.equal(failed.status, 401, 'a failed login, audited');
  const snapshot = async () => (await ts.pool.query('select * from tandem.audit_events order by id')).rows;
  const before = await waitFor('the audit rows of the project and the failed login', async () => {
    const rows = await snapshot();
    return rows.some((r) => r.event === 'login' && r.username === 'mallory') && rows.some((r) => r.event === 'project.created') ? rows : undefined;
  });

  // The job server's own role (here the cluster's superuser), and an application role that was
  // granted every table privilege: the trigger refuses both, whatever the grants say.
  const role = `audit_app_${process.pid}`;
  await ts.pool.query(`create role ${role} login password 'app-pw'`);
  await ts.pool.query(`grant usage on schema tandem to ${role}`);
  await ts.pool.query(`grant select, insert, update, delete, truncate on all tables in schema tandem to ${role}`);
  const appUrl = new URL(ts.dbUrl);
  appUrl.username = role;
  appUrl.password = 'app-pw';
  const app = testPool(t, { connectionString: appUrl.toString(), max: 1 });
  const roles: [string, typeof app][] = [
    ['the job server role', ts.pool],
    ['an application role with every table privilege', app],
  ];
  for (const [who, pool] of roles) {
    for (const [op, sql] of [
      ['UPDATE', "update tandem.audit_events set username = 'someone-else', details = '{}'"],
      ['DELETE', "delete from tandem.audit_events where username = 'mallory'"],
      ['TRUNCATE', 'truncate tandem.audit_events'],
    ] as const) {
      await t.rejects(pool.query(sql), { code: 'P0001', message: `tandem.audit_events is append-only (${op} refused)` }, `${who}: ${op} refused with a clear error`);
    }
    t.same(await snapshot(), before, `${who}: every row is unchanged`);
  }
  await app.query("insert into tandem.audit_events (event, outcome, username) values ('test.appended', 'success', 'app')");
  t.equal((await snapshot()).length, before.length + 1, 'appending still works');
});
