/**
 * Contract tests of the Rundeck API (server/rundeck-api/) against a real job
 * server: each endpoint's request and the shape of its answer as Rundeck's
 * API documentation gives them (fixtures/shapes.json), plus the behaviour
 * Rundeck clients rely on (version errors, token and session auth, paging,
 * output tailing, import options, abort).
 */
import t, { type Test } from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ensureLocalUser } from '../../server/auth/local/bootstrap.js';
import { createToken } from '../../server/auth/tokens.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { startTestServer, waitFor } from '../server/helpers.js';
import { MASTER_KEY_1, PASSWORD } from '../keys/fixtures.js';
import { rundeckClient, type Rd } from './helpers.js';
import { mismatches, shapeOf } from './shape.js';

const JOBS = readFileSync(new URL('./fixtures/jobs.yaml', import.meta.url), 'utf8');
const HELLO = '7d0c9a1e-0001-4c3a-9d7e-000000000001';
const SLEEPER = '7d0c9a1e-0002-4c3a-9d7e-000000000002';
const NIGHTLY = '7d0c9a1e-0003-4c3a-9d7e-000000000003';

function hasShape(t: Test, value: unknown, shape: string, what = shape) {
  const bad = mismatches(value, shapeOf(shape));
  t.same(bad, [], `${what} has Rundeck's ${shape} shape`);
}

function isRundeckError(t: Test, r: { status: number; body: any }, status: number, errorCode: string | RegExp, apiversion = 47) {
  t.equal(r.status, status, `status ${status}`);
  hasShape(t, r.body, 'error');
  t.equal(r.body?.error, true);
  t.match(r.body?.errorCode, errorCode);
  t.equal(r.body?.apiversion, apiversion);
}

/** Follow an execution's output as rundeck-cli does (offset/lastmod/maxlines until completed && execCompleted). */
async function follow(rd: Rd, id: string): Promise<any[]> {
  const entries: any[] = [];
  let offset = 0;
  let lastmod = 0;
  await waitFor(`output of ${id}`, async () => {
    const r = await rd('GET', `/execution/${id}/output?offset=${offset}&lastmod=${lastmod}&maxlines=500`);
    if (r.status !== 200) throw new Error(`output: ${r.status} ${r.text}`);
    entries.push(...r.body.entries);
    offset = r.body.offset;
    lastmod = r.body.lastModified;
    return r.body.completed && r.body.execCompleted;
  }, 30_000);
  return entries;
}

t.test('Rundeck API contract', async (t) => {
  const pg = await startPostgres(t, { name: 'rdapi' });
  const dir = await tempDir(t, 'rdapi-users');
  const usersFile = path.join(dir, 'users.yaml');
  const alice = await ensureLocalUser(usersFile, 'alice', ['admin']);
  const ts = await startTestServer(t, pg, { overrides: { 'auth.usersFile': usersFile, 'keyStorage.masterKey': MASTER_KEY_1 } });
  const rd = rundeckClient(ts);

  await t.test('API versions 14..59; others answer api.error.api-version.unsupported with the newest apiversion', async (t) => {
    for (const v of [14, 29, 47, 59]) t.equal((await rd('GET', `/api/${v}/system/info`)).status, 200, `v${v}`);
    for (const v of [1, 13, 60, 999]) {
      const r = await rd('GET', `/api/${v}/projects`);
      isRundeckError(t, r, 400, 'api.error.api-version.unsupported', 59);
      t.match(r.body.message, `Unsupported API Version "${v}"`);
    }
    t.equal((await ts.api('GET', '/api/v1/projects')).status, 200, "Tandem's own /api/v1 is untouched");
  });

  await t.test('auth: X-Rundeck-Auth-Token, ?authtoken=, Bearer; none or wrong → 403 "unauthorized" in Rundeck shape', async (t) => {
    t.equal((await rd('GET', '/projects')).status, 200, 'header');
    t.equal((await rd('GET', `/projects?authtoken=${ts.token}`, { token: null })).status, 200, 'query parameter');
    t.equal((await rd('GET', '/projects', { token: null, headers: { authorization: `Bearer ${ts.token}` } })).status, 200, 'Bearer');
    const none = await rd('GET', '/projects', { token: null });
    isRundeckError(t, none, 403, 'unauthorized');
    t.equal(none.headers.get('www-authenticate'), null);
    isRundeckError(t, await rd('GET', '/projects', { token: 'not-a-token' }), 403, 'unauthorized');
    const xml = await rd('GET', '/projects', { headers: { accept: 'application/xml' } });
    isRundeckError(t, xml, 415, 'api.error.item.unsupported-format');
  });

  await t.test('POST /j_security_check opens a JSESSIONID session (same login, throttle and ACL)', async (t) => {
    const form = (u: string, p: string) => new URLSearchParams({ j_username: u, j_password: p }).toString();
    const bad = await rd('POST', '/j_security_check', { token: null, body: form('alice', 'wrong'), type: 'application/x-www-form-urlencoded' });
    t.equal(bad.status, 302);
    t.match(bad.headers.get('location'), /\/user\/error$/, 'a failed login redirects to /user/error (what rundeck-cli checks)');
    t.notMatch(bad.headers.get('set-cookie') ?? '', /JSESSIONID/);
    const ok = await rd('POST', '/j_security_check', { token: null, body: form('alice', alice.password!), type: 'application/x-www-form-urlencoded' });
    t.equal(ok.status, 302);
    t.notMatch(ok.headers.get('location'), /\/user\/error/);
    const cookie = /JSESSIONID=([^;]+)/.exec(ok.headers.get('set-cookie') ?? '')?.[1];
    t.ok(cookie, 'JSESSIONID cookie set');
    t.match(ok.headers.get('set-cookie'), /SameSite=Strict/);
    t.match(ok.headers.get('set-cookie'), /HttpOnly/);
    const landing = await fetch(ts.url + ok.headers.get('location'));
    t.equal(landing.status, 200, 'the redirect target answers 200');
    const withCookie = await rd('GET', '/projects', { token: null, headers: { cookie: `JSESSIONID=${cookie}` } });
    t.equal(withCookie.status, 200, 'the session cookie authenticates API requests');
    const created = await rd('POST', '/projects', { token: null, headers: { cookie: `JSESSIONID=${cookie}` }, body: { name: 'bycookie' } });
    t.equal(created.status, 201, 'and changes, without a CSRF token (SameSite=Strict cookie)');
    t.equal((await rd('DELETE', '/project/bycookie', { token: null, headers: { cookie: `JSESSIONID=${cookie}` } })).status, 204);
    const webCookie = await rd('GET', '/projects', { token: null, headers: { cookie: `tandem_session=${cookie}` } });
    isRundeckError(t, webCookie, 403, 'unauthorized');
    const audit = await ts.pool.query(`select event, outcome from tandem.audit_events where username = 'alice' and event = 'login' order by at`);
    t.same(audit.rows.map((r) => r.outcome), ['failure', 'success'], 'both logins are in the audit trail');
  });

  await t.test('system/info, execution mode, metrics', async (t) => {
    const info = await rd('GET', '/system/info');
    hasShape(t, info.body, 'systemInfo');
    t.equal(info.body.system.rundeck.apiversion, 59);
    t.equal(info.body.system.executions.executionMode, 'active');
    t.match(info.body.system.ping.href, new RegExp(`^${ts.url}/api/47/metrics/ping$`));
    const status = await rd('GET', '/system/executions/status');
    t.same([status.status, status.body], [200, { executionMode: 'active' }]);
    t.same((await rd('POST', '/system/executions/enable')).body, { executionMode: 'active' });
    // disable/enable set the site's execution mode (the Cluster Manager's), audited.
    const disabled = await rd('POST', '/system/executions/disable');
    t.equal(disabled.status, 200);
    hasShape(t, disabled.body, 'executionMode');
    t.same(disabled.body, { executionMode: 'passive' });
    t.same((await ts.api('GET', '/api/v1/system/members')).body.siteExecutionMode, 'passive', 'the same mode as /api/v1/system/members shows');
    const off = await rd('GET', '/system/executions/status');
    t.same([off.status, off.body], [200, { executionMode: 'passive' }], 'API 36+: 200 unless passiveAs503');
    t.equal((await rd('GET', '/system/executions/status?passiveAs503=true')).status, 503);
    t.equal((await rd('GET', '/api/35/system/executions/status')).status, 503, 'before API 36 a passive server answers 503');
    t.equal((await rd('GET', '/system/info')).body.system.executions.executionMode, 'passive');
    t.same((await rd('POST', '/system/executions/enable')).body, { executionMode: 'active' });
    // The member takes the site's mode up at its next heartbeat; the status is the mode it acts on.
    const on = await waitFor('the member runs executions again', async () => {
      const r = await rd('GET', '/system/executions/status?passiveAs503=true');
      return r.status === 200 ? r : undefined;
    });
    t.same(on.body, { executionMode: 'active' });
    const audit = await ts.pool.query(`select event, target from tandem.audit_events where event like 'cluster.executions.%' order by at`);
    t.same(audit.rows.map((r) => [r.event, r.target]), [
      ['cluster.executions.enabled', 'site'], ['cluster.executions.disabled', 'site'], ['cluster.executions.enabled', 'site'],
    ], 'each change is in the audit trail');
    const ping = await rd('GET', '/metrics/ping');
    t.same([ping.status, ping.text.trim()], [200, 'pong']);
    const health = await rd('GET', '/metrics/healthcheck');
    t.equal(health.status, 200);
    t.equal(health.body['dataSource.connection.time'].healthy, true);
  });

  await t.test('storage/keys: Rundeck content types and shapes; private keys and passwords never readable', async (t) => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const PRIVATE = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const PUBLIC = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRhbmRlbS1yZGFwaS1jb250cmFjdC10ZXN0LWtleQ ops@tandem\n';
    const base = `${ts.url}/api/47/storage/keys/project/ops`;
    const priv = await rd('POST', '/storage/keys/project/ops/id_ed25519', { body: PRIVATE, type: 'application/octet-stream' });
    t.equal(priv.status, 201);
    hasShape(t, priv.body, 'storageFile', 'a created private key');
    t.same([priv.body.path, priv.body.name, priv.body.type, priv.body.url], ['keys/project/ops/id_ed25519', 'id_ed25519', 'file', `${base}/id_ed25519`]);
    t.same([priv.body.meta['Rundeck-key-type'], priv.body.meta['Rundeck-content-mask'], priv.body.meta['Rundeck-content-type']], ['private', 'content', 'application/octet-stream']);
    const pw = await rd('POST', '/storage/keys/project/ops/db.password', { body: PASSWORD, type: 'application/x-rundeck-data-password' });
    t.same([pw.status, pw.body.meta['Rundeck-data-type'], pw.body.meta['Rundeck-content-mask']], [201, 'password', 'content']);
    const pub = await rd('POST', '/storage/keys/project/ops/id.pub', { body: PUBLIC, type: 'application/pgp-keys' });
    t.same([pub.status, pub.body.meta['Rundeck-key-type']], [201, 'public']);
    isRundeckError(t, await rd('POST', '/storage/keys/project/ops/id.pub', { body: PUBLIC, type: 'application/pgp-keys' }), 409, 'api.error.item.alreadyexists');
    isRundeckError(t, await rd('PUT', '/storage/keys/project/ops/none', { body: PUBLIC, type: 'application/pgp-keys' }), 404, 'api.error.item.doesnotexist');
    const replaced = await rd('PUT', '/storage/keys/project/ops/id.pub', { body: PUBLIC.replace('ops@', 'ci@'), type: 'application/pgp-keys' });
    t.same([replaced.status, replaced.body.path], [200, 'keys/project/ops/id.pub']);

    const dir = await rd('GET', '/storage/keys/project/ops');
    t.equal(dir.status, 200);
    hasShape(t, dir.body, 'storageDirectory', 'a listing');
    t.same([dir.body.type, dir.body.path, dir.body.url], ['directory', 'keys/project/ops', base]);
    t.same(dir.body.resources.map((r: any) => [r.name, r.type]).sort(), [['db.password', 'file'], ['id.pub', 'file'], ['id_ed25519', 'file']]);
    for (const r of dir.body.resources) hasShape(t, r, 'storageFile', r.name);
    const top = await rd('GET', '/storage/keys');
    t.same(top.body.resources.map((r: any) => [r.path, r.type]), [['keys/project', 'directory']], 'a subdirectory is listed as one');
    t.same((await rd('GET', '/storage/keys/project/ops/id_ed25519')).body.meta['Rundeck-key-type'], 'private', 'metadata (Accept: application/json)');

    const pubText = await rd('GET', '/storage/keys/project/ops/id.pub', { headers: { accept: 'application/pgp-keys' } });
    t.same([pubText.status, pubText.headers.get('content-type'), pubText.text], [200, 'application/pgp-keys', PUBLIC.replace('ops@', 'ci@')], "a public key's content");
    for (const [name, type] of [['id_ed25519', 'application/octet-stream'], ['db.password', 'application/x-rundeck-data-password']]) {
      const r = await rd('GET', `/storage/keys/project/ops/${name}`, { headers: { accept: type! } });
      isRundeckError(t, r, 403, 'api.error.item.unauthorized');
      t.notOk(r.text.includes('PRIVATE KEY') || r.text.includes(PASSWORD), `${name}: content not in the answer`);
    }
    const everything = [dir.text, top.text, priv.text, pw.text].join('');
    t.notOk(everything.includes(PASSWORD) || everything.includes(PRIVATE.split('\n')[1]!), 'no answer carries a secret');
    isRundeckError(t, await rd('GET', '/storage/keys/project/ops/nothing'), 404, 'api.error.item.doesnotexist');
    isRundeckError(t, await rd('POST', '/storage/keys/project/ops/x', { body: 'x', type: 'text/plain' }), 415, 'api.error.item.unsupported-format');
    isRundeckError(t, await rd('GET', '/storage/keys/project/bad%20name'), 400, /^api\.error\./);

    const { token } = await createToken(ts.pool, { user: 'dave', roles: ['user'] });
    isRundeckError(t, await rd('GET', '/storage/keys/project/ops', { token }), 403, 'api.error.item.unauthorized', 47);
    isRundeckError(t, await rd('DELETE', '/storage/keys/project/ops/id.pub', { token }), 403, 'api.error.item.unauthorized');
    t.equal((await rd('DELETE', '/storage/keys/project/ops/id.pub')).status, 204);
    isRundeckError(t, await rd('DELETE', '/storage/keys/project/ops/id.pub'), 404, 'api.error.item.doesnotexist');
    t.equal((await ts.api('GET', '/api/v1/storage/keys/project/ops/db.password')).body.url, `${ts.url}/api/v1/storage/keys/project/ops/db.password`, "Tandem's own storage API keeps its URLs");
  });

  await t.test('projects', async (t) => {
    const created = await rd('POST', '/projects', { body: { name: 'ops', config: { 'project.description': 'Operations' } } });
    t.equal(created.status, 201, created.text);
    hasShape(t, created.body, 'project');
    t.same(created.body, { name: 'ops', description: 'Operations', url: `${ts.url}/api/47/project/ops`, config: { 'project.name': 'ops', 'project.description': 'Operations' } });
    isRundeckError(t, await rd('POST', '/projects', { body: { name: 'ops' } }), 409, 'api.error.item.alreadyexists');
    isRundeckError(t, await rd('POST', '/projects', { body: { name: 'bad name!' } }), 400, 'api.error.invalid.request');
    const list = await rd('GET', '/projects');
    hasShape(t, list.body, 'projectList');
    t.same(list.body.map((p: any) => p.name), ['ops']);
    hasShape(t, (await rd('GET', '/project/ops')).body, 'project');
    t.same((await rd('GET', '/project/ops/config')).body, { 'project.name': 'ops', 'project.description': 'Operations' });
    isRundeckError(t, await rd('GET', '/project/nope'), 404, 'api.error.item.doesnotexist');
    t.equal((await rd('POST', '/projects', { body: { name: 'scratch' } })).status, 201);
    t.equal((await rd('DELETE', '/project/scratch')).status, 204);
    isRundeckError(t, await rd('DELETE', '/project/scratch'), 404, 'api.error.item.doesnotexist');
  });

  await t.test('project/P/resources and resource/NAME: the node model as Rundeck resourcejson, filter', async (t) => {
    const nodesDir = await tempDir(t, 'rdapi-nodes');
    const file = path.join(nodesDir, 'nodes.yaml');
    writeFileSync(file, [
      'web1: { hostname: web1.example.org, username: deploy, osFamily: unix, tags: [web, prod], rack: r1 }',
      'web2: { hostname: "web2.example.org:2222", username: deploy, osFamily: unix, tags: "web, staging" }',
      'db1: { hostname: db1.example.org, osFamily: unix, tags: [db, prod], description: primary database }',
      '',
    ].join('\n'));
    t.equal((await ts.api('PUT', '/api/v1/projects/ops/sources', { sources: [{ type: 'file', file }] })).status, 200);

    const all = await rd('GET', '/project/ops/resources');
    t.equal(all.status, 200);
    t.same(Object.keys(all.body).sort(), ['db1', 'localhost', 'web1', 'web2'], 'a map name → node, the server node included');
    for (const [name, node] of Object.entries(all.body)) {
      hasShape(t, node, 'resource', name);
      t.equal((node as any).nodename, name);
    }
    t.same(all.body.web1, { nodename: 'web1', hostname: 'web1.example.org', username: 'deploy', osFamily: 'unix', rack: 'r1', tags: 'web, prod' }, 'every attribute, tags as one string');
    t.equal(all.body.web2.hostname, 'web2.example.org:2222');

    const names = async (filter: string) => Object.keys((await rd('GET', `/project/ops/resources?filter=${encodeURIComponent(filter)}`)).body).sort();
    t.same(await names('tags: prod'), ['db1', 'web1']);
    t.same(await names('tags: web+prod'), ['web1'], 'tag AND');
    t.same(await names('name: web.*'), ['web1', 'web2']);
    t.same(await names('tags: web !name: web2'), ['web1'], 'exclusion');
    t.same(await names('rack: r1'), ['web1'], 'any attribute');
    t.same(await names('tags: none'), [], 'no match: an empty map');
    isRundeckError(t, await rd('GET', `/project/ops/resources?filter=${encodeURIComponent('name: /(/')}`), 400, /^api\.error\./);

    const one = await rd('GET', '/project/ops/resource/db1');
    t.same([one.status, Object.keys(one.body)], [200, ['db1']]);
    hasShape(t, one.body.db1, 'resource');
    t.equal(one.body.db1.description, 'primary database');
    isRundeckError(t, await rd('GET', '/project/ops/resource/nope'), 404, 'api.error.item.doesnotexist');
    isRundeckError(t, await rd('GET', '/project/nope/resources'), 404, 'api.error.item.doesnotexist');
    t.same(Object.keys((await rd('GET', '/project/ops/resources?format=json&filter=name:%20db1')).body), ['db1'], 'format=json');
    isRundeckError(t, await rd('GET', '/project/ops/resources?format=yaml'), 415, 'api.error.item.unsupported-format');
  });

  await t.test('jobs/import: raw YAML, dupeOption, uuidOption, xmlBatch form and multipart', async (t) => {
    const first = await rd('POST', '/project/ops/jobs/import', { body: JOBS, type: 'application/yaml' });
    t.equal(first.status, 200, first.text);
    hasShape(t, first.body, 'importResult');
    t.same(first.body.succeeded.map((j: any) => [j.index, j.id, j.name, j.group]), [
      [1, HELLO, 'hello', 'ops/greet'],
      [2, SLEEPER, 'sleeper', null],
      [3, NIGHTLY, 'nightly', 'ops'],
    ]);
    t.equal(first.body.succeeded[0].href, `${ts.url}/api/47/job/${HELLO}`);
    const skip = await rd('POST', '/project/ops/jobs/import?dupeOption=skip', { body: JOBS, type: 'application/yaml' });
    t.same([skip.body.succeeded.length, skip.body.skipped.length, skip.body.failed.length], [0, 3, 0], 'skip');
    const create = await rd('POST', '/project/ops/jobs/import?dupeOption=create', { body: JOBS, type: 'application/yaml' });
    t.same([create.body.succeeded.length, create.body.failed.length], [0, 3], 'create refuses existing jobs, one by one');
    hasShape(t, create.body, 'importResult');
    const update = await rd('POST', '/project/ops/jobs/import?dupeOption=update&uuidOption=remove', { body: JOBS, type: 'application/yaml' });
    t.same(update.body.succeeded.map((j: any) => j.id), [HELLO, SLEEPER, NIGHTLY], 'update with uuidOption=remove matches by group and name');
    const json = JSON.stringify(parseYaml(JOBS));
    const form = await rd('POST', '/project/ops/jobs/import?dupeOption=update', {
      body: new URLSearchParams({ xmlBatch: json, fileformat: 'json' }).toString(),
      type: 'application/x-www-form-urlencoded',
    });
    t.same([form.status, form.body.succeeded.length], [200, 3], 'xmlBatch form field, fileformat=json');
    const boundary = 'rdapi-boundary-1';
    const multipart = [`--${boundary}`, 'Content-Disposition: form-data; name="xmlBatch"; filename="jobs.yaml"', 'Content-Type: application/yaml', '', JOBS, `--${boundary}--`, ''].join('\r\n');
    const mp = await rd('POST', '/project/ops/jobs/import?fileformat=yaml&dupeOption=update', { body: multipart, type: `multipart/form-data; boundary=${boundary}` });
    t.same([mp.status, mp.body.succeeded.length], [200, 3], 'multipart xmlBatch part');
    isRundeckError(t, await rd('POST', '/project/ops/jobs/import', { body: '<joblist/>', type: 'application/xml' }), 415, 'api.error.jobs.import.format.unsupported');
    isRundeckError(t, await rd('POST', '/project/ops/jobs/import', { body: 'name: [', type: 'application/yaml' }), 400, /api\.error\.jobs\.import/);
    isRundeckError(t, await rd('POST', '/project/ops/jobs/import?dupeOption=maybe', { body: JOBS, type: 'application/yaml' }), 400, 'api.error.parameter.not.inList');
  });

  await t.test('project/P/jobs with filters; export; job/ID; job/ID/info', async (t) => {
    const all = await rd('GET', '/project/ops/jobs');
    t.same(all.body.map((j: any) => j.name), ['sleeper', 'nightly', 'hello']);
    for (const j of all.body) hasShape(t, j, 'job', `job ${j.name}`);
    const names = async (q: string) => (await rd('GET', `/project/ops/jobs?${q}`)).body.map((j: any) => j.name);
    t.same(await names('groupPath=ops'), ['nightly', 'hello'], 'groupPath includes subgroups');
    t.same(await names('groupPath=-'), ['sleeper'], 'groupPath=- top level');
    t.same(await names('groupPathExact=ops'), ['nightly']);
    t.same(await names('jobFilter=ELL'), ['hello'], 'jobFilter: name contains');
    t.same(await names('jobExactFilter=sleeper'), ['sleeper']);
    t.same(await names('scheduledFilter=true'), ['nightly']);
    t.same(await names(`idlist=${HELLO},${NIGHTLY}`), ['nightly', 'hello']);
    t.same(await names('max=1&offset=1'), ['nightly'], 'max/offset');
    const exported = await rd('GET', '/project/ops/jobs/export?format=yaml');
    t.match(exported.headers.get('content-type'), /yaml/);
    t.same((parseYaml(exported.text) as any[]).map((j) => j.uuid).sort(), [HELLO, SLEEPER, NIGHTLY].sort());
    const exportedJson = await rd('GET', `/project/ops/jobs/export?idlist=${HELLO}`);
    t.same([exportedJson.body.length, exportedJson.body[0].name], [1, 'hello'], 'JSON by default, idlist filter');
    isRundeckError(t, await rd('GET', '/project/ops/jobs/export?format=xml'), 400, 'api.error.export.format.unsupported');
    const def = await rd('GET', `/job/${HELLO}?format=yaml`);
    t.equal((parseYaml(def.text) as any[])[0].sequence.commands.length, 2);
    const info = await rd('GET', `/job/${NIGHTLY}/info`);
    hasShape(t, info.body, 'job');
    t.same([info.body.scheduled, info.body.scheduleEnabled, info.body.enabled], [true, true, true]);
    isRundeckError(t, await rd('GET', '/job/no-such-job/info'), 404, 'api.error.item.doesnotexist');
  });

  await t.test('job/ID/execution|schedule enable|disable', async (t) => {
    t.same((await rd('POST', `/job/${NIGHTLY}/schedule/disable`)).body, { success: true });
    t.equal((await rd('GET', `/job/${NIGHTLY}/info`)).body.scheduleEnabled, false);
    t.equal((parseYaml((await rd('GET', `/job/${NIGHTLY}?format=yaml`)).text) as any[])[0].scheduleEnabled, false, 'the export shows it too');
    t.same((await rd('POST', `/job/${NIGHTLY}/schedule/enable`)).body, { success: true });
    isRundeckError(t, await rd('POST', `/job/${HELLO}/schedule/enable`), 400, 'api.error.job.toggleSchedule.notScheduled');
    t.same((await rd('POST', `/job/${HELLO}/execution/disable`)).body, { success: true });
    t.equal((await rd('GET', `/job/${HELLO}/info`)).body.enabled, false);
    isRundeckError(t, await rd('POST', `/job/${HELLO}/run`, { body: {} }), 409, 'api.error.execution.conflict');
    t.same((await rd('POST', `/job/${HELLO}/execution/enable`)).body, { success: true });
  });

  let helloExec = '';
  await t.test('run with options; execution, state and output in Rundeck shapes; secure values masked', async (t) => {
    const run = await rd('POST', `/job/${HELLO}/run`, { body: { options: { who: 'tandem', token: 'sup3rs3cret' }, loglevel: 'INFO' } });
    t.equal(run.status, 200, run.text);
    hasShape(t, run.body, 'execution');
    helloExec = run.body.id;
    t.equal(run.body.argstring, '-who tandem -token **** -mood calm', 'argstring rebuilt in option order, secure value masked');
    t.same(run.body.job.options, { who: 'tandem', token: '****', mood: 'calm' });
    t.equal(run.body.href, `${ts.url}/api/47/execution/${helloExec}`);
    const entries = await follow(rd, helloExec);
    for (const e of entries) hasShape(t, e, 'outputEntry', 'output entry');
    const logs = entries.map((e) => e.log);
    t.ok(logs.includes('hello tandem'), 'option value reached the step');
    t.ok(logs.includes('mood is calm'));
    t.notOk(JSON.stringify(entries).includes('sup3rs3cret'), 'the secure value is not in the output');
    t.match(entries.find((e) => e.log === 'hello tandem'), { level: 'NORMAL', stepctx: '1', user: 'admin', time: /^\d\d:\d\d:\d\d$/ });
    const exec = await rd('GET', `/execution/${helloExec}`);
    hasShape(t, exec.body, 'execution');
    t.equal(exec.body.status, 'succeeded');
    t.ok(exec.body['date-ended'].unixtime >= exec.body['date-started'].unixtime);
    t.match(exec.body['date-started'].date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    t.ok(exec.body.successfulNodes?.length, 'successfulNodes');
    const state = await rd('GET', `/execution/${helloExec}/state`);
    hasShape(t, state.body, 'state');
    t.same([state.body.completed, state.body.executionState, state.body.steps.map((s: any) => s.executionState)], [true, 'SUCCEEDED', ['SUCCEEDED', 'SUCCEEDED']]);
  });

  await t.test('output: maxlines paging, lastlines, compacted, finished output', async (t) => {
    const all = await rd('GET', `/execution/${helloExec}/output`);
    hasShape(t, all.body, 'output');
    t.same([all.body.completed, all.body.execCompleted, all.body.execState], [true, true, 'succeeded']);
    const n = all.body.entries.length;
    t.ok(n >= 2);
    const one = await rd('GET', `/execution/${helloExec}/output?maxlines=1`);
    t.same([one.body.entries.length, one.body.completed], [1, false]);
    const rest = await rd('GET', `/execution/${helloExec}/output?offset=${one.body.offset}`);
    t.same([...one.body.entries, ...rest.body.entries].map((e: any) => e.log), all.body.entries.map((e: any) => e.log), 'reading on from the returned offset gives the rest, once');
    t.equal(rest.body.completed, true);
    const last = await rd('GET', `/execution/${helloExec}/output?lastlines=1`);
    t.same(last.body.entries.map((e: any) => e.log), [all.body.entries[n - 1].log]);
    const compacted = await rd('GET', `/execution/${helloExec}/output?compacted=true`);
    t.same([compacted.body.compacted, compacted.body.compactedAttr], [true, 'log']);
    t.equal(typeof compacted.body.entries[0], 'object', 'the first entry is whole');
    const node = all.body.entries.find((e: any) => e.stepctx === '2').node;
    const step2 = await rd('GET', `/execution/${helloExec}/output/node/${encodeURIComponent(node)}/step/2`);
    t.same(step2.body.filter, { nodename: node, stepctx: '2' });
    t.ok(step2.body.entries.length > 0 && step2.body.entries.every((e: any) => e.stepctx === '2' && e.node === node), 'output/node/N/step/S filters the lines');
    t.ok((await rd('GET', `/execution/${helloExec}/output/step/1`)).body.entries.some((e: any) => e.log === 'hello tandem'));
    t.equal((await rd('GET', `/execution/${helloExec}/output/node/no-such-node`)).body.entries.length, 0);
    const text = await rd('GET', `/execution/${helloExec}/output?format=text`);
    t.match(text.headers.get('content-type'), /^text\/plain/);
    t.same(text.text.split('\n').filter(Boolean), all.body.entries.map((e: any) => e.log), 'format=text: the lines');
    t.same([text.headers.get('x-rundeck-execoutput-completed'), text.headers.get('x-rundeck-exec-state')], ['true', 'succeeded']);
    t.equal((await rd('GET', `/execution/${helloExec}/output.text`)).text, text.text, 'output.text');
    t.same((await rd('GET', `/execution/${helloExec}/output.json?offset=0`)).body.entries, all.body.entries, 'output.json');
    const info = await rd('GET', `/job/${HELLO}/info`);
    t.equal(typeof info.body.averageDuration, 'number', 'job/ID/info has averageDuration once the job has succeeded');
  });

  await t.test('run by query argString on job/ID/executions; executions lists and filters', async (t) => {
    const run = await rd('POST', `/job/${HELLO}/executions?argString=${encodeURIComponent('-who "two words" -mood happy')}`);
    t.equal(run.status, 200, run.text);
    t.equal(run.body.argstring, '-who "two words" -mood happy');
    const logs = (await follow(rd, run.body.id)).map((e) => e.log);
    t.ok(logs.includes('hello two words'), 'quoted argString value');
    const form = await rd('POST', `/job/${HELLO}/run`, { body: 'option.who=form&argString=-who+ignored', type: 'application/x-www-form-urlencoded' });
    t.equal(form.body.argstring, '-who form -mood calm', 'option.NAME form parameters win over argString');
    await follow(rd, form.body.id);
    t.equal((await rd('DELETE', `/execution/${form.body.id}`)).status, 204);
    isRundeckError(t, await rd('POST', `/job/${HELLO}/run`, { body: { options: { who: 'x' }, filter: 'name: web1' } }), 403, 'api.error.item.unauthorized');
    isRundeckError(t, await rd('POST', `/job/${HELLO}/run`, { body: { runAtTime: '2099-01-01T00:00:00Z' } }), 400, 'api.error.parameter.invalid');
    isRundeckError(t, await rd('POST', `/job/${HELLO}/run`, { body: { argString: '-who "unclosed' } }), 400, 'api.error.job.options-invalid');

    const list = await rd('GET', '/project/ops/executions');
    hasShape(t, list.body, 'executionList');
    t.same([list.body.paging.total, list.body.paging.count, list.body.paging.max, list.body.paging.offset], [2, 2, 20, 0]);
    const paged = await rd('GET', '/project/ops/executions?max=1&offset=1');
    t.same([paged.body.paging.count, paged.body.executions[0].id], [1, helloExec], 'newest first; max/offset');
    t.equal((await rd('GET', '/project/ops/executions?statusFilter=failed')).body.paging.total, 0);
    t.equal((await rd('GET', '/project/ops/executions?statusFilter=succeeded&jobFilter=hel&userFilter=admin&recentFilter=1h')).body.paging.total, 2);
    t.equal((await rd('GET', '/project/ops/executions?groupPath=ops')).body.paging.total, 2, 'groupPath includes ops/greet');
    t.equal((await rd('GET', '/project/ops/executions?groupPathExact=ops')).body.paging.total, 0);
    t.equal((await rd('GET', '/project/ops/executions?jobListFilter=ops/greet/hello')).body.paging.total, 2);
    t.equal((await rd('GET', '/project/ops/executions?olderFilter=1d')).body.paging.total, 0);
    t.equal((await rd('GET', '/project/ops/executions?adhoc=true')).body.paging.total, 0);
    isRundeckError(t, await rd('GET', '/project/ops/executions?recentFilter=soon'), 400, 'api.error.history.date-relative-format');
    const byJob = await rd('GET', `/job/${HELLO}/executions?max=1`);
    hasShape(t, byJob.body, 'executionList');
    t.same([byJob.body.paging.total, byJob.body.executions.length], [2, 1]);
  });

  await t.test('abort a running execution (GET, as Rundeck documents it, and POST as rundeck-cli sends it); running list', async (t) => {
    const run = await rd('POST', `/job/${SLEEPER}/run`);
    const id = run.body.id;
    await waitFor('the sleeper to print', async () => (await rd('GET', `/execution/${id}/output`)).body.entries.some((e: any) => e.log === 'started'));
    const running = await rd('GET', '/project/ops/executions/running');
    hasShape(t, running.body, 'executionList');
    t.same(running.body.executions.map((e: any) => [e.id, e.status]), [[id, 'running']]);
    t.same((await rd('GET', `/project/*/executions/running?jobIdFilter=${SLEEPER}`)).body.executions.map((e: any) => e.id), [id], 'all projects, by job');
    isRundeckError(t, await rd('DELETE', `/execution/${id}`), 409, 'api.error.exec.delete.failed');
    const abort = await rd('GET', `/execution/${id}/abort`);
    hasShape(t, abort.body, 'abort');
    t.match(abort.body.abort.status, /^(pending|aborted)$/);
    const end = await waitFor('the abort', async () => {
      const r = await rd('GET', `/execution/${id}`);
      return r.body.status === 'aborted' ? r.body : undefined;
    });
    t.ok(end['date-ended']);
    const again = await rd('POST', `/execution/${id}/abort`);
    t.same(again.body.abort.status, 'failed', 'aborting an ended execution reports failed');
    const audit = await ts.pool.query(`select details->>'id' as id from tandem.audit_events where event = 'execution.aborted' and details->>'method' = 'GET'`);
    t.same(audit.rows.map((r) => r.id), [id], 'the GET abort is in the audit trail');
  });

  await t.test('delete executions: one, and in bulk with per-id failures', async (t) => {
    const list = (await rd('GET', '/project/ops/executions')).body.executions;
    t.equal(list.length, 3);
    t.equal((await rd('DELETE', `/execution/${list[0].id}`)).status, 204);
    isRundeckError(t, await rd('GET', `/execution/${list[0].id}`), 404, 'api.error.item.doesnotexist');
    const bulk = await rd('POST', '/executions/delete', { body: { ids: [list[1].id, 'no-such-id'] } });
    hasShape(t, bulk.body, 'bulkDelete');
    t.same(bulk.body, { failures: [{ id: 'no-such-id', message: 'Not found: no-such-id' }], failedCount: 1, successCount: 1, allsuccessful: false, requestCount: 2 });
    const byQuery = await rd('POST', `/executions/delete?ids=${list[2].id}`);
    t.same([byQuery.body.successCount, byQuery.body.allsuccessful], [1, true]);
    t.equal((await rd('GET', '/project/ops/executions')).body.paging.total, 0);
    await follow(rd, (await rd('POST', `/job/${HELLO}/run`, { body: {} })).body.id);
    await follow(rd, (await rd('POST', `/job/${HELLO}/run`, { body: {} })).body.id);
    const all = await rd('DELETE', `/job/${HELLO}/executions`);
    hasShape(t, all.body, 'bulkDelete');
    t.same([all.body.requestCount, all.body.successCount, all.body.allsuccessful], [2, 2, true], 'DELETE job/ID/executions');
    t.equal((await rd('GET', `/job/${HELLO}/executions`)).body.paging.total, 0);
  });

  // Before the passive-site test: while a site is passive its bookkeeping writes (these audit rows among them) are
  // skipped (server/auth/site-writes.ts), and a pooled session made read-only then can outlive the return to active by
  // a moment: its bookkeeping write is skipped too (a known gap, not what this test is about).
  await t.test('the same ACL: a "user" token reads and runs, and is refused changes with 403 api.error.item.unauthorized (audited)', async (t) => {
    const { token } = await createToken(ts.pool, { user: 'carol', roles: ['user'] });
    const asCarol: Rd = (m, p, o = {}) => rd(m, p, { ...o, token });
    t.equal((await asCarol('GET', '/projects')).status, 200);
    t.equal((await asCarol('GET', `/job/${HELLO}/info`)).status, 200);
    isRundeckError(t, await asCarol('POST', '/projects', { body: { name: 'carols' } }), 403, 'api.error.item.unauthorized');
    isRundeckError(t, await asCarol('DELETE', `/job/${HELLO}`), 403, 'api.error.item.unauthorized');
    const reimport = await asCarol('POST', '/project/ops/jobs/import?dupeOption=update', { body: JOBS, type: 'application/yaml' });
    isRundeckError(t, reimport, 403, 'api.error.item.unauthorized');
    isRundeckError(t, await asCarol('POST', `/job/${HELLO}/execution/disable`), 403, 'api.error.item.unauthorized');
    isRundeckError(t, await asCarol('GET', '/system/executions/status').then(() => asCarol('POST', '/system/executions/enable')), 403, 'api.error.item.unauthorized');
    // authorize() writes a denial in the background (it is synchronous): wait for the rows.
    const denied = await waitFor('5 denials in the audit trail', async () => {
      const r = await ts.pool.query(`select count(*)::int as n from tandem.audit_events where event = 'acl.denied' and username = 'carol'`);
      return r.rows[0].n >= 5 ? r.rows[0].n : undefined;
    });
    t.equal(denied, 5, 'every denial is in the audit trail');
  });

  await t.test('a passive site answers reads and refuses writes in Rundeck shape; execution mode passive (passiveAs503)', async (t) => {
    const kept = (await rd('POST', `/job/${HELLO}/run`, { body: { options: { who: 'before' } } })).body.id;
    await follow(rd, kept);
    // The state a failover leaves a site in: its tandem_site.site row says passive (the guard reads it on every write).
    await ts.pool.query(`insert into tandem_site.site (name, role, epoch, active_site, active_url) values ('b', 'passive', 1, 'a', 'https://a.example.org')`);
    t.equal((await rd('GET', '/projects')).status, 200, 'reads are served');
    hasShape(t, (await rd('GET', `/execution/${kept}`)).body, 'execution');
    t.equal((await rd('GET', `/execution/${kept}/output`)).body.completed, true);
    t.equal((await rd('GET', `/project/ops/jobs`)).status, 200);
    isRundeckError(t, await rd('POST', `/job/${HELLO}/run`, { body: {} }), 503, 'api.error.execution.failed');
    isRundeckError(t, await rd('POST', '/projects', { body: { name: 'late' } }), 503, 'api.error.execution.failed');
    isRundeckError(t, await rd('POST', `/job/${HELLO}/execution/disable`), 503, 'api.error.execution.failed');
    isRundeckError(t, await rd('DELETE', `/execution/${kept}`), 503, 'api.error.execution.failed');
    const imported = await rd('POST', '/project/ops/jobs/import?dupeOption=update', { body: JOBS, type: 'application/yaml' });
    isRundeckError(t, imported, 503, 'api.error.execution.failed');
    t.equal((await rd('GET', '/system/info')).body.system.executions.executionMode, 'passive');
    const status = await rd('GET', '/system/executions/status');
    t.same([status.status, status.body], [200, { executionMode: 'passive' }], 'API 36+: 200 unless passiveAs503');
    t.same((await rd('GET', '/system/executions/status?passiveAs503=true')).status, 503);
    t.same((await rd('GET', '/api/35/system/executions/status')).status, 503, 'before API 36 a passive server answers 503');
    // The site's execution mode is site-local: it can be set on a passive site (to prepare a failover); the role still rules.
    t.same((await rd('POST', '/system/executions/disable')).body, { executionMode: 'passive' });
    t.same((await rd('POST', '/system/executions/enable')).body, { executionMode: 'active' });
    t.equal((await rd('GET', '/system/executions/status')).body.executionMode, 'passive', 'still passive: the site is');
    isRundeckError(t, await rd('POST', '/storage/keys/project/ops/late', { body: 'x', type: 'application/x-rundeck-data-password' }), 503, 'api.error.execution.failed');
    t.equal((await rd('GET', '/storage/keys/project/ops')).status, 200, 'key storage reads are served');
    t.equal((await rd('GET', '/project/ops/resources')).status, 200, 'resources are served');
    await ts.pool.query(`delete from tandem_site.site`);
    // Active again once the member's next heartbeat has taken up the site's mode (disabled and enabled above).
    await waitFor('active again', async () => (await rd('GET', '/system/executions/status')).body.executionMode === 'active');
    // The site monitor may have made the pool's sessions read-only while passive; it aligns them once its next check
    // sees the site active (until then even bookkeeping writes, the audit rows the next test counts, are skipped).
    // /health/active answers 200 only once the monitor has confirmed that.
    await waitFor('the site monitor sees the site active', async () => (await fetch(`${ts.url}/health/active`)).status === 200);
  });

  await t.test('what a caller may not read answers 404 as if absent, never a 403 that confirms it (as /api/v1)', async (t) => {
    const { token } = await createToken(ts.pool, { user: 'erin', roles: ['guest'] });
    const asErin: Rd = (m, p, o = {}) => rd(m, p, { ...o, token });
    const exec = (await rd('GET', '/project/ops/executions?max=1')).body.executions[0].id;
    t.same((await asErin('GET', '/projects')).body, [], 'no readable project is listed');
    for (const [m, p] of [
      ['GET', '/project/ops'], ['GET', '/project/ops/config'], ['DELETE', '/project/ops'], ['GET', '/project/ops/jobs'], ['GET', '/project/ops/jobs/export'],
      ['GET', `/job/${HELLO}`], ['GET', `/job/${HELLO}/info`], ['DELETE', `/job/${HELLO}`], ['POST', `/job/${HELLO}/run`], ['POST', `/job/${HELLO}/execution/disable`],
      ['GET', `/job/${HELLO}/executions`], ['GET', '/project/ops/executions'], ['GET', `/execution/${exec}`], ['GET', `/execution/${exec}/output`],
      ['GET', `/execution/${exec}/state`], ['POST', `/execution/${exec}/abort`], ['DELETE', `/execution/${exec}`],
    ] as const) {
      const r = await asErin(m, p, m === 'POST' ? { body: {} } : {});
      t.same([r.status, r.body?.errorCode], [404, 'api.error.item.doesnotexist'], `${m} ${p}`);
    }
    const bulk = await asErin('POST', '/executions/delete', { body: { ids: [exec] } });
    t.same(bulk.body.failures.map((f: any) => f.id), [exec], 'bulk delete: a failure, not a confirmation');
    t.equal((await rd('GET', `/execution/${exec}`)).status, 200, 'nothing was changed');
  });

  await t.test('jobs/delete (bulk), per-id results', async (t) => {
    const copy = JOBS.replaceAll('7d0c9a1e-', '9d0c9a1e-').replaceAll('name: hello', 'name: hello2').replaceAll('name: sleeper', 'name: sleeper2').replaceAll('name: nightly', 'name: nightly2');
    t.equal((await rd('POST', '/project/ops/jobs/import', { body: copy, type: 'application/yaml' })).body.succeeded.length, 3);
    const r = await rd('DELETE', `/jobs/delete?ids=9d0c9a1e-0001-4c3a-9d7e-000000000001&idlist=9d0c9a1e-0002-4c3a-9d7e-000000000002,no-such-job`);
    t.same([r.body.requestCount, r.body.allsuccessful, r.body.succeeded.map((x: any) => x.id), r.body.failed.map((x: any) => [x.id, x.errorCode])], [
      3, false, ['9d0c9a1e-0001-4c3a-9d7e-000000000001', '9d0c9a1e-0002-4c3a-9d7e-000000000002'], [['no-such-job', 'notfound']],
    ]);
    const byBody = await rd('POST', '/jobs/delete', { body: { ids: ['9d0c9a1e-0003-4c3a-9d7e-000000000003'] } });
    t.same([byBody.body.requestCount, byBody.body.allsuccessful], [1, true]);
  });

  await t.test('job/ID DELETE', async (t) => {
    t.equal((await rd('DELETE', `/job/${NIGHTLY}`)).status, 204);
    isRundeckError(t, await rd('GET', `/job/${NIGHTLY}`), 404, 'api.error.item.doesnotexist');
  });
});
