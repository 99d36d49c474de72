/**
 * Login throttling, the distributed side: a user name failing from many
 * addresses is slowed down, never locked: the right password from a clean
 * address logs in. (The per-address side is in http.test.ts.)
 */
import t from 'tap';
import path from 'node:path';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { hashPassword } from '../../server/auth/password.js';
import { writeUsersFile } from '../../server/auth/local/users-file.js';
import { startAuthApp } from '../auth/helpers.js';

const pgs = await startPostgres(t, { name: 'sec-login' });

t.test('failures of one user name from many addresses slow it down but never lock it', async (t) => {
  const dir = await tempDir(t, 'sec-login-users');
  const file = path.join(dir, 'users.yaml');
  writeUsersFile(file, new Map([['bob', { password: await hashPassword('bob-pw', { N: 1024 }), roles: ['user'] }]]));
  const app = await startAuthApp(t, pgs, {
    'auth.usersFile': file,
    'server.trustProxy': true,
    'auth.throttle.maxFailuresPerUser': 3,
    'auth.throttle.userSlowDown': '50ms',
    'auth.throttle.baseDelay': '60s',
  });
  const attempt = (password: string, addr: string) =>
    fetch(`${app.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': addr }, body: JSON.stringify({ username: 'bob', password }) });
  for (let i = 1; i <= 6; i++) t.equal((await attempt('wrong', `192.0.2.${i}`)).status, 401, `a wrong password from address ${i}: 401, never 429`);
  const clean = await attempt('bob-pw', '192.0.2.200');
  t.equal(clean.status, 200, 'past the per-user limit, the right password from a clean address still logs in');
  const { rows } = await app.pool.query("select count(*)::int as n from tandem.audit_events where event = 'login' and details->>'reason' = 'throttled'");
  t.equal(rows[0].n, 0, 'no attempt was refused');
});
