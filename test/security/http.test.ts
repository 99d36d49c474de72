/**
 * HTTP security findings and the one error edge (every route, one error
 * shape; server/README.md), tried as an attacker
 * would, against one real job server on real PostgreSQL: each subtest is a
 * finding's reproduction, which failed before the fix.
 */
import t from 'tap';
import path from 'node:path';
import { ADMIN_POLICY, aclDir } from '../harness/acl.js';
import { startPostgres } from '../harness/postgres.js';
import { startTestServer } from '../server/helpers.js';
import { createToken } from '../../server/auth/tokens.js';
import { hashPassword } from '../../server/auth/password.js';
import { writeUsersFile } from '../../server/auth/local/users-file.js';
import { heavyRequestGate } from '../../server/http/heavy-requests.js';
import { isTandemError } from '../../server/errors.js';

const POLICY = `
description: Creators may create jobs in alpha, and read and run them, but never update one.
context: { project: alpha }
for:
  job: [{ allow: [read, create, run] }]
by: { group: creator }
---
description: Readers and creators see alpha; alpha-only users too.
context: { application: tandem }
for:
  project: [{ equals: { name: alpha }, allow: [read] }]
by: { group: [creator, reader, alphaonly] }
---
description: Readers read alpha.
context: { project: alpha }
for:
  job: [{ allow: [read] }]
by: { group: reader }
---
description: Alpha-only users do everything in alpha.
context: { project: alpha }
for:
  job: [{ allow: '*' }]
  execution: [{ allow: '*' }]
by: { group: alphaonly }
`;

const pgs = await startPostgres(t, { name: 'sec-http' });
const dir = await aclDir(t, ADMIN_POLICY, POLICY);
const usersFile = path.join(dir, 'users.yaml');
writeUsersFile(usersFile, new Map([['bob', { password: await hashPassword('bob-pw', { N: 1024 }), roles: ['reader'] }]]));
const ts = await startTestServer(t, pgs, {
  overrides: { 'auth.aclDir': dir, 'auth.usersFile': usersFile, 'server.trustProxy': true, 'auth.throttle.baseDelay': '60s', 'server.bodyLimit': '4MB' },
});
const tokenOf = async (user: string, role: string) => (await createToken(ts.pool, { user, roles: [role] })).token;
const creator = await tokenOf('carl', 'creator');
const reader = await tokenOf('rita', 'reader');
const alphaOnly = await tokenOf('alice', 'alphaonly');

async function as(token: string, method: string, p: string, body?: string | unknown, headers: Record<string, string> = {}) {
  const h: Record<string, string> = { authorization: `Bearer ${token}`, ...headers };
  let payload: string | Buffer | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' || Buffer.isBuffer(body) ? (body as string) : JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const res = await fetch(ts.url + p, { method, headers: h, body: payload }).catch((e) => {
    throw new Error(`${method} ${p}: ${String(e)} ${String(e?.cause)}`);
  });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, body: parsed, text, headers: res.headers };
}
const admin = (method: string, p: string, body?: unknown, headers?: Record<string, string>) => as(ts.token, method, p, body, headers);
const job = (name: string, extra: Record<string, unknown> = {}) => ({ name, sequence: { commands: [{ exec: 'true' }] }, ...extra });

// Set-up without assertions: an assertion at the top level would let tap end the root test (and its teardowns) early.
for (const name of ['alpha', 'beta']) {
  const r = await admin('POST', '/api/v1/projects', { name });
  if (r.status !== 201) throw new Error(`project ${name}: ${r.status} ${r.text}`);
}
const prod = await admin('POST', '/api/v1/projects/alpha/jobs', [job('prod-deploy', { description: 'v1' })]);
const PROD = prod.body.jobs[0].id as string;
const beta = await admin('POST', '/api/v1/projects/beta/jobs', [job('sleeper')]);
const SLEEPER = beta.body.jobs[0].id as string;

t.test('1: an import checks update on each job it replaces, before writing anything', async (t) => {
  const replace = await as(creator, 'POST', '/api/v1/projects/alpha/jobs', [job('prod-deploy', { description: 'replaced' })]);
  t.equal(replace.status, 403, 'a creator cannot replace a job by import');
  t.equal(replace.body.error.action, 'update');
  const mixed = await as(creator, 'POST', '/api/v1/projects/alpha/jobs', [job('brand-new'), job('prod-deploy', { description: 'replaced' })]);
  t.equal(mixed.status, 403, 'one forbidden job refuses the document');
  const { rows } = await ts.pool.query("select name, description from tandem.jobs where name in ('brand-new', 'prod-deploy')");
  t.same(rows, [{ name: 'prod-deploy', description: 'v1' }], 'nothing was written: no new job, the old one unchanged');
  const byUuid = await as(creator, 'POST', '/api/v1/projects/alpha/jobs', [job('renamed', { uuid: PROD })]);
  t.equal(byUuid.status, 403, 'replacing by uuid is an update too');
  const fresh = await as(creator, 'POST', '/api/v1/projects/alpha/jobs', [job('brand-new')]);
  t.same([fresh.status, fresh.body.created], [201, 1], 'creating is allowed');
});

t.test('5: the route is authorized before the body is read; deep documents are refused cheaply', async (t) => {
  const deep = '['.repeat(1_000_000);
  const refused = await as(reader, 'POST', '/api/v1/projects/alpha/jobs', deep);
  t.equal(refused.status, 403, 'a caller who may neither create nor update gets 403, not a parse of 1 MB');
  const noProject = await as(reader, 'POST', '/api/v1/projects', deep);
  t.equal(noProject.status, 403, 'creating a project: authorized before the body too');
  for (const [type, text] of [
    ['application/json', deep],
    ['application/yaml', deep],
    ['application/yaml', '- '.repeat(300_000) + 'x'],
    ['application/json', JSON.stringify({ name: 'x', options: Array.from({ length: 80 }).reduce((a: unknown) => [a], 1) })],
  ] as const) {
    const started = Date.now();
    const r = await admin('POST', '/api/v1/projects/alpha/jobs', text, { 'content-type': type });
    t.same([r.status, r.body?.error?.field], [400, 'body'], `${type} ${text.slice(0, 12)}…: 400`);
    t.match(r.body.error.message, /nested deeper than 64/);
    t.ok(Date.now() - started < 5000, 'answered without a long parse');
  }
  const deepObject = await admin('POST', '/api/v1/projects', '{"name":"x","description":' + '['.repeat(100) + ']'.repeat(100) + '}');
  t.equal(deepObject.status, 400, 'any JSON body is bounded');
  const lol = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
  for (const [n, p] of [['b', 'a'], ['c', 'b'], ['d', 'c'], ['e', 'd'], ['f', 'e']]) lol.push(`${n}: &${n} [${Array(10).fill('*' + p).join(',')}]`);
  const bomb = await admin('POST', '/api/v1/projects/alpha/jobs', lol.join('\n') + '\n', { 'content-type': 'application/yaml' });
  t.same([bomb.status, bomb.body.error.code], [400, 'invalid_yaml'], 'a YAML alias bomb is a 400, not a 500');
});

t.test('9: login throttling never locks a user out of a clean address', async (t) => {
  const attempt = (password: string, addr: string) =>
    fetch(ts.url + '/auth/login', { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': addr }, body: JSON.stringify({ username: 'bob', password }) });
  for (let i = 0; i < 5; i++) t.equal((await attempt('wrong', '198.51.100.7')).status, 401);
  const there = await attempt('bob-pw', '198.51.100.7');
  t.equal(there.status, 429, 'the guessing address is throttled for bob');
  t.ok(Number(there.headers.get('retry-after')) > 0, 'with Retry-After');
  t.equal((await attempt('bob-pw', '198.51.100.8')).status, 200, 'the right password from another address logs in');
  for (let i = 0; i < 40; i++) await attempt('wrong', '198.51.100.7');
  const { rows } = await ts.pool.query("select count(*)::int as n, max((details->>'attempts')::int) as attempts from tandem.audit_events where event = 'login' and details->>'reason' = 'throttled'");
  t.equal(rows[0].n, 1, '41 throttled attempts wrote one audit row for the window');
  t.equal(rows[0].attempts, 1, 'the row counts the attempts it stands for (the first; later ones are added in the next window)');
});

t.test('10: lists are paginated, log reads bounded, heavy requests capped', async (t) => {
  const many = Array.from({ length: 150 }, (_, i) => job(`bulk-${String(i).padStart(3, '0')}`, { group: 'bulk' }));
  t.equal((await admin('POST', '/api/v1/projects/beta/jobs', many)).status, 201);
  const first = await admin('GET', '/api/v1/projects/beta/jobs');
  t.same([first.body.total, first.body.limit, first.body.jobs.length], [151, 100, 100], 'a default page of 100');
  const rest = await admin('GET', '/api/v1/projects/beta/jobs?offset=100');
  t.equal(rest.body.jobs.length, 51);
  const big = await admin('GET', '/api/v1/projects/beta/jobs?limit=100000');
  t.same([big.status, big.body.error.field], [400, 'limit'], 'no page beyond the maximum');
  const exported = await admin('GET', '/api/v1/projects/beta/jobs?format=json');
  t.equal(JSON.parse(exported.text).length, 151, 'the export streams every job');
  const yaml = await admin('GET', '/api/v1/projects/beta/jobs?format=yaml');
  t.equal((yaml.text.match(/^- /gm) ?? []).length, 151, 'YAML too');

  // The cap itself, deterministically: with 2 slots taken, a third request is answered 429 with Retry-After at once.
  const gate = heavyRequestGate(2);
  const release: Array<() => void> = [];
  const hold = () => gate.middleware({} as never, () => new Promise<void>((r) => release.push(r)));
  const a = hold();
  const b = hold();
  const refused = await gate.middleware({} as never, async () => undefined).then(() => undefined, (e: unknown) => e);
  t.ok(isTandemError(refused) && refused.status === 429 && refused.details?.retryAfter === 1, '429 with Retry-After: 1');
  release.forEach((r) => r());
  await Promise.all([a, b]);
  t.equal(gate.inFlight(), 0, 'slots are given back');
});

t.test('11: an import of many jobs is one set-based write', async (t) => {
  await admin('POST', '/api/v1/projects', { name: 'bulk' });
  const doc = Array.from({ length: 2000 }, (_, i) => job(`j-${i}`, i % 500 === 0 ? { schedule: { crontab: '0 0 3 * * ? *' } } : {}));
  const r = await admin('POST', '/api/v1/projects/bulk/jobs', doc);
  t.same([r.status, r.body.created, r.body.updated], [201, 2000, 0]);
  const { rows } = await ts.pool.query(
    "select count(*)::int as n, count(j.schedule)::int as scheduled, count(*) filter (where j.definition->>'uuid' = j.id)::int as uuids from tandem.jobs j join tandem.projects p on p.id = j.project_id where p.name = 'bulk'",
  );
  t.same(rows[0], { n: 2000, scheduled: 4, uuids: 2000 }, 'unscheduled jobs have no schedule (SQL null), each definition carries its id');
  const again = await admin('POST', '/api/v1/projects/bulk/jobs', doc.slice(0, 10).concat([job('new-one')]));
  t.same([again.body.created, again.body.updated], [1, 10], 're-import: matched by group and name');
  const dup = await admin('POST', '/api/v1/projects/bulk/jobs', [job('twice'), job('twice')]);
  t.same([dup.status, dup.body.error.field], [400, 'jobs[1].name'], 'a document naming a job twice is refused');
});

t.test('12: NUL characters and invalid UTF-8 are a 400 naming the field', async (t) => {
  const nulProject = await admin('POST', '/api/v1/projects', { name: 'nul', description: 'a\u0000b' });
  t.same([nulProject.status, nulProject.body.error.field], [400, 'description']);
  const nulJob = await admin('POST', '/api/v1/projects/alpha/jobs', [job('n', { description: 'x\u0000' })]);
  t.same([nulJob.status, nulJob.body.error.field], [400, 'jobs[0].description']);
  const nulCommand = await admin('POST', '/api/v1/projects/alpha/jobs', 'name: n\nsequence:\n  commands:\n    - exec: "echo \\0"\n', { 'content-type': 'application/yaml' });
  t.same([nulCommand.status, nulCommand.body.error.field], [400, 'jobs[0].sequence.commands[0].exec']);
  const nulOption = await admin('POST', `/api/v1/jobs/${PROD}/run`, { options: { env: 'a\u0000' } });
  t.same([nulOption.status, nulOption.body.error.field], [400, 'options.env']);
  const bytes = Buffer.concat([Buffer.from('{"name":"utf","description":"caf'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
  const res = await fetch(ts.url + '/api/v1/projects', { method: 'POST', headers: { authorization: `Bearer ${ts.token}`, 'content-type': 'application/json' }, body: bytes });
  const body = (await res.json()) as any;
  t.same([res.status, body.error.field], [400, 'description'], 'invalid UTF-8 is refused, not replaced');
  t.equal((await admin('GET', '/api/v1/projects/utf')).status, 404, 'nothing was created');
  for (const p of ['/api/v1/jobs/%00', '/api/v1/projects/%00', '/api/v1/executions/%00', '/api/v1/jobs/%FF']) {
    const r = await admin('GET', p);
    t.ok([400, 404].includes(r.status), `${p}: ${r.status}`);
  }
});

t.test('13: project names made of dots are refused', async (t) => {
  for (const name of ['.', '..', '...']) {
    const r = await admin('POST', '/api/v1/projects', { name });
    t.same([r.status, r.body.error.field], [400, 'name'], JSON.stringify(name));
  }
  t.equal((await admin('POST', '/api/v1/projects', { name: 'v1.2' })).status, 201, 'dots inside a name are fine');
});

t.test('14: security headers', async (t) => {
  const api = await admin('GET', '/api/v1/projects');
  t.equal(api.headers.get('x-content-type-options'), 'nosniff');
  t.equal(api.headers.get('x-frame-options'), 'DENY');
  t.match(api.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  t.equal(api.headers.get('cache-control'), 'no-store');
  const login = await fetch(ts.url + '/login');
  t.match(login.headers.get('content-security-policy'), /default-src 'none'/, 'a CSP on /login');
  t.match(login.headers.get('content-security-policy'), /frame-ancestors 'none'/);
  t.equal(login.headers.get('x-content-type-options'), 'nosniff');
  const token = await admin('POST', '/api/v1/tokens', { description: 'x' });
  t.same([token.status, token.headers.get('cache-control')], [201, 'no-store'], 'the answer holding a new token is not cached');
  const exported = await admin('GET', `/api/v1/jobs/${PROD}?format=yaml`);
  t.equal(exported.headers.get('cache-control'), 'no-store', 'exports are not cached');
  const notFound = await admin('GET', '/api/v1/nothing');
  t.equal(notFound.headers.get('x-content-type-options'), 'nosniff', 'error answers too');
});

t.test('15: a caller who may not read something is not told it exists', async (t) => {
  const hidden = await as(alphaOnly, 'GET', `/api/v1/jobs/${SLEEPER}`);
  const unknown = await as(alphaOnly, 'GET', '/api/v1/jobs/no-such-job');
  t.same([hidden.status, hidden.body.error.code], [404, 'not_found'], 'a job of another project: 404, as for an unknown id');
  t.notMatch(hidden.text, /beta|sleeper/);
  t.equal(unknown.status, 404);
  for (const [method, p] of [['POST', `/api/v1/jobs/${SLEEPER}/run`], ['DELETE', `/api/v1/jobs/${SLEEPER}`], ['GET', '/api/v1/projects/beta']] as const) {
    const r = await as(alphaOnly, method, p, method === 'POST' ? {} : undefined);
    t.equal(r.status, 404, `${method} ${p}`);
    t.notMatch(r.text, /sleeper|not allowed/);
  }
  const stolen = await as(alphaOnly, 'POST', '/api/v1/projects/alpha/jobs', [job('copy', { uuid: SLEEPER })]);
  t.equal(stolen.status, 409);
  t.notMatch(stolen.text, /beta/, 'the conflict does not say which project holds the uuid');
  const readable = await as(reader, 'DELETE', `/api/v1/jobs/${PROD}`);
  t.equal(readable.status, 403, 'a job the caller may read but not delete: 403');
});

t.test('with the database gone, every route answers 503 unavailable in the one error shape', async (t) => {
  const gone = await startPostgres(t, { name: 'sec-gone' });
  const ts2 = await startTestServer(t, gone);
  t.equal((await ts2.api('POST', '/api/v1/projects', { name: 'p' })).status, 201);
  await gone.stop('fast');
  t.teardown(() => gone.start());
  const routes: Array<[string, string, unknown?]> = [
    ['GET', '/api/v1/projects'],
    ['GET', '/api/v1/projects/p/jobs'],
    ['POST', '/api/v1/projects', { name: 'q' }],
    ['GET', '/api/v1/tokens'],
    ['POST', '/api/v1/tokens', {}],
    ['GET', '/api/v1/me'],
    ['GET', '/api/v1/audit'],
    ['GET', '/api/v1/system/info'],
  ];
  for (const [method, p, body] of routes) {
    const r = await ts2.api(method, p, body);
    t.same([r.status, r.body?.error?.code], [503, 'unavailable'], `${method} ${p}`);
    t.equal(Object.keys(r.body.error).sort().join(), ['code', 'message', 'retryAfter'].sort().join(), 'one shape');
  }
  const login = await fetch(ts2.url + '/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'x', password: 'y' }) });
  const lb = (await login.json()) as any;
  t.same([login.status, lb.error.code], [503, 'unavailable'], 'POST /auth/login');
  const ready = await fetch(ts2.url + '/health/ready');
  const rb = (await ready.json()) as any;
  t.same([ready.status, rb.error.code], [503, 'unavailable'], '/health/ready in the same shape');
});
