/**
 * The SSH node executor against real OpenSSH servers (test/harness/sshd.ts)
 * with credentials from a real Key Storage (PostgreSQL, encrypted).
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { migrate } from '../../server/db/migrate.js';
import { Keyring, parseMasterKey } from '../../server/keys/cipher.js';
import { KeyStorage } from '../../server/keys/key-storage.js';
import { HostKeys } from '../../server/nodes/ssh/host-keys.js';
import { SshNodeExecutor } from '../../server/nodes/ssh/ssh-node-executor.js';
import { getProjectSshSettings } from '../../server/nodes/ssh/sql/get-project-ssh-settings.js';
import { putProjectSshSettings } from '../../server/nodes/ssh/sql/put-project-ssh-settings.js';
import { insertProject } from '../../server/projects/sql/insert-project.js';
import type { NodeEntry } from '../../server/nodes/node-executor.js';
import type { StepCommand, StepExit, StepProcess } from '../../server/executions/executor.js';
import { freePort } from '../../server/embedded/net.js';
import { startPostgres } from '../harness/postgres.js';
import { testPool } from '../harness/pool.js';
import { testLog } from '../harness/log.js';
import { tempDir } from '../harness/tmp.js';
import { ensureUser, keyPair, startSshd } from '../harness/sshd.js';
import { waitFor } from '../server/helpers.js';
import { MASTER_KEY_1, PASSPHRASE, PASSWORD } from '../keys/fixtures.js';

const pgs = await startPostgres(t, { name: 'ssh' });
const dbUrl = await pgs.createDatabase('ssh');
await migrate(dbUrl);
const pool = testPool(t, { connectionString: dbUrl, max: 6 });
const keys = new KeyStorage({ pool, keyring: new Keyring(parseMasterKey(MASTER_KEY_1)) });
const hostKeys = new HostKeys(pool);
const dir = await tempDir(t, 'ssh-keys');
const good = keyPair(dir, 'good');
const locked = keyPair(dir, 'locked', PASSPHRASE);
const wrong = keyPair(dir, 'wrong');
await keys.create('keys/project/ops/good', 'application/octet-stream', good.privateKey, 'test');
await keys.create('keys/project/ops/locked', 'application/octet-stream', locked.privateKey, 'test');
await keys.create('keys/project/ops/locked.passphrase', 'application/x-rundeck-data-password', Buffer.from(PASSPHRASE), 'test');
await keys.create('keys/project/ops/wrong', 'application/octet-stream', wrong.privateKey, 'test');
await keys.create('keys/project/ops/login.password', 'application/x-rundeck-data-password', Buffer.from(PASSWORD), 'test');
ensureUser('tandemsshtest', PASSWORD);

const a = await startSshd(t, { authorizedKeys: [good.publicKey, locked.publicKey], passwords: true });
const b = await startSshd(t, { authorizedKeys: [good.publicKey] });

const executor = new SshNodeExecutor({
  keys,
  hostKeys,
  log: testLog,
  defaults: { hostKeyPolicy: 'accept-new', connectTimeout: 10_000 },
  idleTimeoutMs: 5000,
  killGraceMs: 2000,
});
t.teardown(() => executor.close());

let execCounter = 0;
const node = (name: string, hostname: string, attrs: Record<string, string> = {}): NodeEntry => ({
  name,
  tags: [],
  attributes: { hostname, username: 'root', 'ssh-key-storage-path': 'keys/project/${job.project}/good', ...attrs },
});
const shell = (command: string): StepCommand => ({ kind: 'shell', node: '', command, env: {} });

interface Ran {
  exit: StepExit;
  stdout: string;
  stderr: string;
}
async function collect(p: StepProcess): Promise<Ran> {
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  const exit = await p.exited;
  return { exit, stdout, stderr };
}
const run = async (n: NodeEntry, cmd: StepCommand, executionId = `e${++execCounter}`) =>
  collect(await executor.start(n, cmd, { project: 'ops', executionId }));
const refusal = async (n: NodeEntry, cmd = shell('true'), project = 'ops') => {
  try {
    const p = await executor.start(n, cmd, { project, executionId: `e${++execCounter}` });
    return `started (exit ${(await p.exited).exitCode})`;
  } catch (e) {
    return (e as Error).message;
  }
};
const fingerprintOf = (pub: string) => {
  const f = path.join(dir, `fp-${Date.now()}.pub`);
  writeFileSync(f, pub + '\n');
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', f], { encoding: 'utf8' }).split(' ')[1]!;
};

t.test('key auth: exit status, stdout and stderr apart', async (t) => {
  const r = await run(node('a', a.hostname), shell('echo out; whoami; echo err >&2; exit 3'));
  t.same(r.exit, { exitCode: 3, signal: null });
  t.equal(r.stdout, 'out\nroot\n');
  t.equal(r.stderr, 'err\n', 'the pid line is not part of the output');
});

t.test('output is streamed as it comes', async (t) => {
  const flag = path.join(a.dir, 'go');
  const p = await executor.start(node('a', a.hostname), shell(`echo first; while [ ! -f ${flag} ]; do sleep 0.05; done; echo second`), { project: 'ops', executionId: 'stream' });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  let ended = false;
  void p.exited.then(() => (ended = true));
  await waitFor('the first line', async () => out === 'first\n');
  t.notOk(ended, 'the first line arrived while the command still ran');
  writeFileSync(flag, '');
  t.same(await p.exited, { exitCode: 0, signal: null });
  t.equal(out, 'first\nsecond\n');
});

t.test('a key with a passphrase; password auth; a node without credentials', async (t) => {
  const r = await run(node('a', a.hostname, { 'ssh-key-storage-path': 'keys/project/ops/locked', 'ssh-key-passphrase-storage-path': 'keys/project/ops/locked.passphrase' }), shell('echo locked-ok'));
  t.equal(r.stdout, 'locked-ok\n');
  const pw = await run(
    { name: 'a-pw', tags: [], attributes: { hostname: a.hostname, username: 'tandemsshtest', 'ssh-authentication': 'password', 'ssh-password-storage-path': 'keys/project/ops/login.password' } },
    shell('whoami'),
  );
  t.same([pw.exit.exitCode, pw.stdout], [0, 'tandemsshtest\n'], 'password authentication');
  const none = await refusal({ name: 'bare', tags: [], attributes: { hostname: a.hostname, username: 'root' } });
  t.match(none, /node bare: no SSH credentials/);
});

t.test('failures name the node and the reason, never a secret', async (t) => {
  const wrongKey = await refusal(node('a-wrong', a.hostname, { 'ssh-key-storage-path': 'keys/project/ops/wrong' }));
  t.match(wrongKey, /node a-wrong \(root@127\.0\.0\.1:\d+\): authentication failed/);
  const badPw = await keys.create('keys/project/ops/bad.password', 'application/x-rundeck-data-password', Buffer.from('keystore-fixture-secret-nope'), 'test');
  t.ok(badPw);
  const wrongPw = await refusal({ name: 'a-pw', tags: [], attributes: { hostname: a.hostname, username: 'tandemsshtest', 'ssh-password-storage-path': 'keys/project/ops/bad.password' } });
  t.match(wrongPw, /authentication failed/);
  t.notMatch(wrongPw, /keystore-fixture-secret/);

  const closedPort = await freePort();
  t.match(await refusal(node('gone', `127.0.0.1:${closedPort}`)), /node gone \(root@127\.0\.0\.1:\d+\): connection refused/);

  // A host that accepts TCP and never speaks SSH: the handshake times out.
  const silent = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => {
    silent.close(() => r());
    (silent as any).closeAllConnections?.();
  }));
  const silentPort = (silent.address() as any).port;
  const sockets: any[] = [];
  silent.on('connection', (s) => sockets.push(s));
  t.teardown(() => sockets.forEach((s) => s.destroy()));
  t.match(await refusal(node('mute', `127.0.0.1:${silentPort}`, { 'ssh-connect-timeout': '300' })), /node mute .*timeout: no SSH handshake within 300 ms/);
  t.match(await refusal(node('nokey', a.hostname, { 'ssh-key-storage-path': 'keys/project/ops/absent' })), /node nokey: ssh-key-storage-path keys\/project\/ops\/absent: no key storage entry/);
});

t.test('host keys: first one recorded, a changed one refused with both fingerprints, strict, removal', async (t) => {
  const c = await startSshd(t, { authorizedKeys: [good.publicKey] });
  const n = node('web1', c.hostname);
  t.equal((await run(n, shell('true'))).exit.exitCode, 0);
  const known = await hostKeys.list('ops');
  const row = known.find((k) => k.host === c.hostname)!;
  const oldFp = fingerprintOf(c.hostPublicKey());
  t.same([row.node, row.keyType, row.fingerprint], ['web1', 'ssh-ed25519', oldFp], 'fingerprint as ssh-keygen -l prints it');

  await c.changeHostKey();
  const newFp = fingerprintOf(c.hostPublicKey());
  const refused = await refusal(n);
  t.match(refused, 'host key of node web1');
  t.match(refused, 'has changed');
  t.ok(refused.includes(oldFp) && refused.includes(newFp), `both fingerprints named: ${refused}`);

  const strict = await refusal(node('web1', c.hostname, { 'ssh-host-key-policy': 'strict', 'ssh-key-storage-path': 'keys/project/ops/good' }), shell('true'), 'other-project');
  t.match(strict, /is not known and ssh-host-key-policy is strict/);
  t.notOk((await hostKeys.list('other-project')).length, 'strict records nothing');

  t.ok(await hostKeys.remove('ops', c.hostname));
  t.equal((await run(n, shell('true'))).exit.exitCode, 0, 'after removal the new key is accepted');
  t.equal((await hostKeys.list('ops')).find((k) => k.host === c.hostname)!.fingerprint, newFp);
});

t.test('script steps: copied, run with args and interpreter, removed also on failure', async (t) => {
  const copyDir = await tempDir(t, 'ssh-copy');
  const n = node('a', a.hostname, { 'file-copy-destination-dir': copyDir });
  const script = '#!/bin/sh\necho "args: $1 $2"\nls -l "$0" | cut -c1-10\nexit 4\n';
  const r = await run(n, { kind: 'script', node: '', script, args: "'one two' three", env: {} });
  t.equal(r.exit.exitCode, 4);
  t.equal(r.stdout, 'args: one two three\n-rwx------\n', 'private and executable');
  t.same(readdirSync(copyDir), [], 'removed after a failing run');
  const bash = await run(n, { kind: 'script', node: '', script: 'echo "$BASH_VERSION" | cut -c1', args: '', interpreter: 'bash', env: {} });
  t.match(bash.stdout, /^\d\n$/, 'run by the interpreter');
  t.same(readdirSync(copyDir), []);
  const refused = await refusal(node('a', a.hostname, { 'file-copy-destination-dir': path.join(copyDir, 'missing') }), { kind: 'script', node: '', script: 'true', args: '', env: {} });
  t.match(refused, /node a: cannot copy the script to/);
});

t.test('abort stops the remote command and closes the connection', async (t) => {
  const p = await executor.start(node('b', b.hostname), shell('echo started; sleep 600; echo never'), { project: 'ops', executionId: 'abort' });
  let out = '';
  p.stdout.on('data', (d) => (out += d));
  await waitFor('the remote sleep', async () => b.processes().some((x) => x.args === 'sleep 600'));
  const sessions = b.processes().filter((x) => /notty/.test(x.args)).length;
  t.ok(sessions >= 1, 'a session runs');
  const killedAt = Date.now();
  p.kill();
  await waitFor('the remote sleep to end', async () => !b.processes().some((x) => x.args === 'sleep 600'), 5000);
  t.ok(Date.now() - killedAt < 5000, 'gone from the process list within 5 s');
  const exit = await p.exited;
  t.equal(exit.exitCode, null, `ended by a signal (${exit.signal})`);
  t.notMatch(out, /never/);
  await waitFor('the connection to close', async () => !b.processes().some((x) => /notty/.test(x.args)), 5000);
});

t.test('a node that goes away while its command runs: the step ends with the reason', async (t) => {
  const d = await startSshd(t, { authorizedKeys: [good.publicKey] });
  const p = await executor.start(node('d', d.hostname), shell('echo up; sleep 600'), { project: 'ops', executionId: 'lost' });
  const ran = collect(p);
  await waitFor('the remote sleep', async () => d.processes().some((x) => x.args === 'sleep 600'));
  await d.stop();
  const r = await ran;
  t.equal(r.exit.exitCode, null);
  t.equal(r.stdout, 'up\n');
  t.match(r.stderr, /SSH connection to node d lost before the command ended/);
});

t.test('ssh-command-timeout stops the remote command', async (t) => {
  const r = await run(node('b', b.hostname, { 'ssh-command-timeout': '300' }), shell('sleep 600'));
  t.equal(r.exit.exitCode, null);
  t.match(r.stderr, /ssh-command-timeout of 300 ms reached on node b/);
  await waitFor('no sleep left', async () => !b.processes().some((x) => x.args === 'sleep 600'), 5000);
});

t.test('several nodes at once; a warm connection is reused within an execution', async (t) => {
  const nodes = [node('a', a.hostname), node('b', b.hostname), node('gone', `127.0.0.1:${await freePort()}`)];
  const results = await Promise.allSettled(nodes.map((n) => run(n, shell('echo "$(hostname) ok"'), 'multi')));
  t.equal(results[0]!.status, 'fulfilled');
  t.equal(results[1]!.status, 'fulfilled');
  t.match((results[0] as any).value.stdout, / ok\n$/);
  t.equal(results[2]!.status, 'rejected', 'the unreachable node fails alone');
  t.match((results[2] as any).reason.message, /node gone .*connection refused/);

  const first = await run(node('a', a.hostname), shell('echo $PPID'), 'warm');
  const second = await run(node('a', a.hostname), shell('echo $PPID'), 'warm');
  t.equal(first.stdout, second.stdout, 'the second step ran in the same SSH connection (same sshd session process)');
  const other = await run(node('a', a.hostname), shell('echo $PPID'), 'cold');
  t.not(other.stdout, first.stdout, 'another execution gets its own connection');
});

t.test('project settings apply to nodes that do not set their own', async (t) => {
  const c = await startSshd(t, { authorizedKeys: [good.publicKey] });
  const project = await insertProject(pool, { name: 'proj2', description: '', createdBy: 'test' });
  await putProjectSshSettings(pool, project.id, { 'ssh-key-storage-path': 'keys/project/ops/good', 'ssh-host-key-policy': 'strict', username: 'root' }, 'test');
  const withProject = new SshNodeExecutor({
    keys, hostKeys, log: testLog, defaults: { hostKeyPolicy: 'accept-new', connectTimeout: 10_000 }, idleTimeoutMs: 1000, killGraceMs: 2000,
    projectSettings: (p) => getProjectSshSettings(pool, p),
  });
  t.teardown(() => withProject.close());
  const bare: NodeEntry = { name: 'p1', tags: [], attributes: { hostname: c.hostname } };
  const start = (n: NodeEntry) => withProject.start(n, shell('whoami'), { project: 'proj2', executionId: `p${++execCounter}` });
  await t.rejects(start(bare), /node p1 \(root@127\.0\.0\.1:\d+\): host key of node p1 .* is not known and ssh-host-key-policy is strict/, 'the project policy (strict) applies');
  const own = await collect(await start({ ...bare, attributes: { ...bare.attributes, 'ssh-host-key-policy': 'accept-new' } }));
  t.same([own.exit.exitCode, own.stdout], [0, 'root\n'], 'a node attribute wins over the project; key and user from the project');
});

t.test('the step environment reaches the remote command over stdin, never on its command line', async (t) => {
  const r = await run(node('a', a.hostname), {
    kind: 'shell', node: '', command: 'echo "[${RD_JOB_NAME-unset}] [$SECRET_OPT]"; tr "\\0" " " < /proc/$$/cmdline; echo; cat', env: { RD_JOB_NAME: "deploy 'x' $(id)", SECRET_OPT: 'keystore-fixture-secret-opt', 'NOT-A-NAME': 'skipped' },
  });
  t.equal(r.exit.exitCode, 0, r.stderr);
  const [first, cmdline, rest] = r.stdout.split('\n');
  t.equal(first, "[deploy 'x' $(id)] [keystore-fixture-secret-opt]", 'values arrive as data');
  t.notMatch(cmdline, /keystore-fixture-secret|deploy/, 'not in the remote command line');
  t.equal(rest, '', 'stdin is at EOF for the command');
});
