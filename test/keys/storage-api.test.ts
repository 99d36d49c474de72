import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ADMIN_POLICY, aclDir } from '../harness/acl.js';
import { startPostgres } from '../harness/postgres.js';
import { startTestServer } from '../server/helpers.js';
import { createToken } from '../../server/auth/tokens.js';
import { MASTER_KEY_1, PASSWORD } from './fixtures.js';
import { insertHostKey } from '../../server/nodes/ssh/sql/insert-host-key.js';
import { fingerprint } from '../../server/nodes/ssh/host-keys.js';

const POLICY = `
description: Ops may read and use the keys of project ops, and create them, but not delete them.
context:
  application: tandem
for:
  storage:
    - match: { path: 'keys/project/ops(/.*)?' }
      allow: [read, create]
    - equals: { path: 'keys/project' }
      allow: [read]
    - equals: { path: 'keys' }
      allow: [read]
by:
  group: ops
`;

const pg = await startPostgres(t, { name: 'keys-api' });
const dir = await aclDir(t, ADMIN_POLICY, POLICY);
const ts = await startTestServer(t, pg, { overrides: { 'keyStorage.masterKey': MASTER_KEY_1, 'auth.aclDir': dir } });
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fixture', '-f', path.join(dir, 'id')]);
const PRIVATE = readFileSync(path.join(dir, 'id'));
const PUBLIC = readFileSync(path.join(dir, 'id.pub'));
const { api } = ts;
const put = (method: string, p: string, type: string, body: Buffer | string, token = ts.token) =>
  fetch(`${ts.url}/api/v1/storage/keys/${p}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });

t.test('create, conflict, replace, read metadata; private content never readable', async (t) => {
  const r = await put('POST', 'project/ops/id_ed25519', 'application/octet-stream', PRIVATE);
  t.equal(r.status, 201);
  const meta = (await r.json()) as any;
  t.equal(meta.path, 'keys/project/ops/id_ed25519');
  t.equal(meta.name, 'id_ed25519');
  t.equal(meta.type, 'file');
  t.equal(meta.meta['Rundeck-key-type'], 'private');
  t.equal(meta.meta['Rundeck-content-mask'], 'content');
  t.equal(meta.meta['Rundeck-content-type'], 'application/octet-stream');
  t.equal(meta.meta['Rundeck-content-size'], String(PRIVATE.length));
  t.equal(meta.meta['Rundeck-auth-created-username'], 'admin');
  t.notOk(JSON.stringify(meta).includes(PRIVATE.toString('base64').slice(0, 20)));

  const again = await put('POST', 'project/ops/id_ed25519', 'application/octet-stream', PRIVATE);
  t.equal(again.status, 409);
  t.equal(((await again.json()) as any).error.code, 'conflict');

  for (const accept of ['application/octet-stream', 'application/pgp-keys', '*/*;q=0.1, application/octet-stream']) {
    const g = await api('GET', '/api/v1/storage/keys/project/ops/id_ed25519', undefined, { accept });
    t.equal(g.status, 403, `content of a private key with Accept ${accept}: 403`);
    t.notOk(g.text.includes('PRIVATE KEY'));
  }
  const m = await api('GET', '/api/v1/storage/keys/project/ops/id_ed25519', undefined, { accept: 'application/json' });
  t.equal(m.status, 200);
  t.same(m.body.meta['Rundeck-key-type'], 'private');

  const rep = await put('PUT', 'project/ops/id_ed25519', 'application/octet-stream', PRIVATE);
  t.equal(rep.status, 200);
  t.equal(((await put('PUT', 'project/ops/nothing', 'application/octet-stream', PRIVATE)).status), 404, 'PUT of a missing entry: 404');

  const row = await ts.pool.query('select ciphertext, master_key_id from tandem.storage_keys where path = $1', ['keys/project/ops/id_ed25519']);
  t.notOk(row.rows[0].ciphertext.includes(PRIVATE.subarray(40, 80)), 'the stored bytes are not the key');
  t.match(row.rows[0].master_key_id, /^mk-[0-9a-f]{16}$/);
});

t.test('passwords and public keys', async (t) => {
  const p = await put('POST', 'project/ops/db.password', 'application/x-rundeck-data-password', PASSWORD);
  t.equal(p.status, 201);
  const pm = (await p.json()) as any;
  t.equal(pm.meta['Rundeck-data-type'], 'password');
  t.equal(pm.meta['Rundeck-content-mask'], 'content');
  const g = await api('GET', '/api/v1/storage/keys/project/ops/db.password', undefined, { accept: 'application/x-rundeck-data-password' });
  t.equal(g.status, 403);
  t.notOk(g.text.includes(PASSWORD));

  t.equal((await put('POST', 'project/ops/id.pub', 'application/pgp-keys', PUBLIC)).status, 201);
  const pub = await fetch(`${ts.url}/api/v1/storage/keys/project/ops/id.pub`, { headers: { authorization: `Bearer ${ts.token}`, accept: 'application/pgp-keys' } });
  t.equal(pub.status, 200);
  t.equal(await pub.text(), PUBLIC.toString(), 'a public key is readable');

  const bad = await put('POST', 'project/ops/x', 'text/plain', 'x');
  t.equal(bad.status, 415);
  const badPath = await put('POST', 'project%2F..%2Fetc', 'application/octet-stream', 'x');
  t.equal(badPath.status, 400);
  t.equal(((await put('POST', 'project/ops/empty', 'application/octet-stream', '')).status), 400, 'empty content refused');
});

t.test('directory listing', async (t) => {
  const root = await api('GET', '/api/v1/storage/keys/');
  t.equal(root.status, 200);
  t.same([root.body.type, root.body.path], ['directory', 'keys']);
  t.same(root.body.resources.map((r: any) => [r.path, r.type]), [['keys/project', 'directory']]);
  const ops = await api('GET', '/api/v1/storage/keys/project/ops');
  t.same(ops.body.resources.map((r: any) => r.name).sort(), ['db.password', 'id.pub', 'id_ed25519']);
  t.ok(ops.body.resources.every((r: any) => r.meta && r.url.startsWith(ts.url)), 'files carry metadata and a url');
  t.equal((await api('GET', '/api/v1/storage/keys/nothing/here')).status, 404);
  t.equal((await put('POST', 'project', 'application/octet-stream', PRIVATE)).status, 409, 'a directory is not replaced by an entry');
});

t.test('ACL by path', async (t) => {
  const { token } = await createToken(ts.pool, { user: 'olga', roles: ['ops'] });
  const h = { authorization: `Bearer ${token}` };
  const get = (p: string) => fetch(`${ts.url}/api/v1/storage/keys/${p}`, { headers: { ...h, accept: 'application/json' } });
  t.equal((await get('project/ops/id_ed25519')).status, 200);
  t.equal((await put('POST', 'project/ops/new.password', 'application/x-rundeck-data-password', PASSWORD, token)).status, 201, 'ops may create under ops');
  t.equal((await put('POST', 'project/web/x', 'application/x-rundeck-data-password', PASSWORD, token)).status, 403, 'but not under web');
  t.equal((await fetch(`${ts.url}/api/v1/storage/keys/project/ops/new.password`, { method: 'DELETE', headers: h })).status, 403, 'nor delete');
  t.equal((await put('POST', 'project/web/y', 'application/x-rundeck-data-password', PASSWORD)).status, 201);
  const list = (await (await get('project')).json()) as any;
  t.same(list.resources.map((r: any) => r.path), ['keys/project/ops'], 'listing hides what the caller cannot read');
  const audit = await ts.pool.query(`select coalesce(target, '') || details::text as d from tandem.audit_events`);
  t.ok(audit.rows.some((r: any) => r.d.includes('storage')), 'key storage changes are in the audit trail');
  t.notOk(audit.rows.some((r: any) => r.d.includes(PASSWORD)), 'no password in the audit trail');
});

t.test('delete', async (t) => {
  const d = await api('DELETE', '/api/v1/storage/keys/project/ops/id.pub');
  t.equal(d.status, 204);
  t.equal((await api('DELETE', '/api/v1/storage/keys/project/ops/id.pub')).status, 404);
  t.equal((await api('DELETE', '/api/v1/storage/keys/project')).status, 409, 'a directory is not deleted');
  t.equal((await ts.server.keys.secret('keys/project/ops/db.password', ['password'])).toString(), PASSWORD, 'the server itself can use a password');
});

t.test('known SSH host keys: listed and removable through the API', async (t) => {
  t.equal((await api('POST', '/api/v1/projects', { name: 'ops' })).status, 201);
  const blob = Buffer.from(PUBLIC.toString().split(' ')[1]!, 'base64');
  await insertHostKey(ts.pool, { project: 'ops', host: '10.0.0.5:22', keyType: 'ssh-ed25519', fingerprint: fingerprint(blob), publicKey: blob, node: 'web1', firstSeenExecution: null });
  const list = await api('GET', '/api/v1/projects/ops/ssh/host-keys');
  t.equal(list.status, 200);
  t.same(list.body.hostKeys.map((k: any) => [k.host, k.node, k.keyType, k.fingerprint]), [['10.0.0.5:22', 'web1', 'ssh-ed25519', fingerprint(blob)]]);
  t.equal(list.body.hostKeys[0].publicKey, PUBLIC.toString().split(' ').slice(0, 2).join(' '));
  const { token } = await createToken(ts.pool, { user: 'olga2', roles: ['ops'] });
  const denied = await fetch(`${ts.url}/api/v1/projects/ops/ssh/host-keys/10.0.0.5:22`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  t.equal(denied.status, 403, 'removing needs project update');
  t.equal((await api('DELETE', '/api/v1/projects/ops/ssh/host-keys/10.0.0.5:22')).status, 204);
  t.equal((await api('DELETE', '/api/v1/projects/ops/ssh/host-keys/10.0.0.5:22')).status, 404);
  t.same((await api('GET', '/api/v1/projects/ops/ssh/host-keys')).body.hostKeys, []);
});

t.test('project SSH settings: set, read, checked when set', async (t) => {
  const put = await api('PUT', '/api/v1/projects/ops/ssh/settings', { 'ssh-host-key-policy': 'strict', 'ssh-key-storage-path': 'keys/project/${job.project}/id_ed25519', username: 'deploy' });
  t.equal(put.status, 200, put.text);
  t.same((await api('GET', '/api/v1/projects/ops/ssh/settings')).body.settings, { 'ssh-host-key-policy': 'strict', 'ssh-key-storage-path': 'keys/project/${job.project}/id_ed25519', username: 'deploy' });
  const bad = await api('PUT', '/api/v1/projects/ops/ssh/settings', { 'ssh-host-key-policy': 'yolo' });
  t.same([bad.status, bad.body.error.field], [400, 'ssh-host-key-policy']);
  const unknown = await api('PUT', '/api/v1/projects/ops/ssh/settings', { 'ssh-cipher': 'none' });
  t.same([unknown.status, unknown.body.error.field], [400, 'ssh-cipher']);
  const timeout = await api('PUT', '/api/v1/projects/ops/ssh/settings', { 'ssh-connect-timeout': '5s' });
  t.same([timeout.status, timeout.body.error.field], [400, 'ssh-connect-timeout']);
  t.equal((await api('GET', '/api/v1/projects/ops/ssh/settings')).body.settings['ssh-host-key-policy'], 'strict', 'a refused change changes nothing');
});
