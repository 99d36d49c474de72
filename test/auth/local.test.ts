import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../harness/tmp.js';
import { readUsersFile } from '../../server/auth/local/users-file.js';
import { ensureLocalUser } from '../../server/auth/local/bootstrap.js';
import { LocalAuthenticator } from '../../server/auth/local/local-authenticator.js';
import { hashPassword, verifyPassword } from '../../server/auth/password.js';

t.test('scrypt hashes carry their parameters and are salted', async (t) => {
  const a = await hashPassword('same password', { N: 1024 });
  const b = await hashPassword('same password', { N: 1024 });
  t.not(a, b, 'different salts');
  t.match(a, /^\$scrypt\$N=1024,r=8,p=1\$/);
  t.ok(await verifyPassword('same password', a));
  t.notOk(await verifyPassword('same passwore', a));
  t.notOk(await verifyPassword('x', 'not a hash'));
  t.ok(await verifyPassword('caf\u00e9', await hashPassword('cafe\u0301', { N: 1024 })), 'Unicode-normalised (NFC)');
});

t.test('users file problems point at the line', async (t) => {
  const dir = await tempDir(t, 'usersfile');
  const file = path.join(dir, 'users.yaml');
  writeFileSync(file, 'users:\n  ok:\n    password: x\n    roles: [admin]\n');
  t.throws(() => readUsersFile(file), { code: 'invalid_config', message: /users\.yaml:2:3: user ok: password must be a \$scrypt\$ hash/ });
  writeFileSync(file, 'users:\n  - admin\n');
  t.throws(() => readUsersFile(file), { message: /users\.yaml:2:3: "users" must be a mapping/ });
  writeFileSync(file, 'users: [\n');
  t.throws(() => readUsersFile(file), { message: /invalid YAML/ });
  t.same([...readUsersFile(path.join(dir, 'missing.yaml'))], [], 'a missing file has no users');
});

t.test('ensureLocalUser creates an account once, for the demo', async (t) => {
  const dir = await tempDir(t, 'bootstrap');
  const file = path.join(dir, 'users.yaml');
  const first = await ensureLocalUser(file, 'admin', ['admin']);
  t.equal(first.created, true);
  t.match(first.password, /^[A-Za-z0-9_-]{16}$/);
  const again = await ensureLocalUser(file, 'admin', ['admin']);
  t.same(again, { created: false }, 'an existing account is kept');
  const login = await new LocalAuthenticator(file).authenticate('admin', first.password!);
  t.ok(login.ok && login.identity.roles[0] === 'admin');
  t.same(await new LocalAuthenticator(file).authenticate('nobody', 'x'), { ok: false, reason: 'unknown_user' });
});
