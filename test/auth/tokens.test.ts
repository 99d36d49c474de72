import t from 'tap';
import { startPostgres } from '../harness/postgres.js';
import { createToken, hashToken } from '../../server/auth/tokens.js';
import { call, startAuthApp, waitFor } from './helpers.js';

t.test('API tokens: bearer authentication, expiry, revocation, last use, roles no wider than the owner', async (t) => {
  const pgs = await startPostgres(t, { name: 'tokens' });
  const app = await startAuthApp(t, pgs);
  const admin = await createToken(app.pool, { user: 'root', roles: ['admin'], description: 'bootstrap' });
  const user = await createToken(app.pool, { user: 'bob', roles: ['user'] });

  await t.test('the token is stored only as its SHA-256', async (t) => {
    const { rows } = await app.pool.query('select token_hash from tandem.api_tokens where id = $1', [admin.id]);
    t.equal(rows[0].token_hash, hashToken(admin.token));
    t.not(rows[0].token_hash, admin.token);
    t.match(admin.token, /^tdm_[A-Za-z0-9_-]{43}$/);
  });

  await t.test('missing, malformed and unknown credentials get 401 with a JSON error', async (t) => {
    for (const [what, headers] of [
      ['no header', {}],
      ['Basic auth', { authorization: 'Basic YWxpY2U6eA==' }],
      ['unknown token', { authorization: 'Bearer tdm_nottherightone' }],
    ] as const) {
      const r = await call(`${app.url}/api/v1/me`, { headers });
      t.equal(r.status, 401, what);
      t.equal(r.body.error.code, 'unauthorized', what);
      t.type(r.body.error.message, 'string');
    }
  });

  await t.test('a valid token authenticates and /api/v1/me describes it', async (t) => {
    const r = await call(`${app.url}/api/v1/me`, { token: admin.token });
    t.equal(r.status, 200);
    t.same(r.body, { user: 'root', roles: ['admin'], groups: [], via: 'token', tokenId: admin.id });
  });

  await t.test('last use is recorded', async (t) => {
    const { rows } = await app.pool.query('select last_used_at from tandem.api_tokens where id = $1', [admin.id]);
    t.ok(rows[0].last_used_at instanceof Date, 'last_used_at set');
  });

  await t.test('POST /api/v1/tokens creates a token with the caller\'s roles and it works', async (t) => {
    const r = await call(`${app.url}/api/v1/tokens`, { method: 'POST', token: user.token, body: { description: 'ci', expires: '1h' } });
    t.equal(r.status, 201);
    t.equal(r.body.user, 'bob');
    t.same(r.body.roles, ['user']);
    t.equal(r.body.state, 'active');
    t.ok(Date.parse(r.body.expiresAt) > Date.now());
    const me = await call(`${app.url}/api/v1/me`, { token: r.body.token });
    t.equal(me.body.user, 'bob');
  });

  await t.test('roles wider than the owner\'s are refused', async (t) => {
    const r = await call(`${app.url}/api/v1/tokens`, { method: 'POST', token: user.token, body: { roles: ['admin'] } });
    t.equal(r.status, 403);
    t.match(r.body.error.message, /roles its owner does not have: admin/);
  });

  await t.test('bad input gets 400 naming the field', async (t) => {
    const r1 = await call(`${app.url}/api/v1/tokens`, { method: 'POST', token: user.token, body: { expires: 'soon' } });
    t.equal(r1.status, 400);
    t.equal(r1.body.error.field, 'expires');
    const r2 = await call(`${app.url}/api/v1/tokens`, { method: 'POST', token: user.token, body: { roles: 'user' } });
    t.equal(r2.status, 400);
    t.equal(r2.body.error.field, 'roles');
    const r3 = await fetch(`${app.url}/api/v1/tokens`, { method: 'POST', headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' }, body: '{"x":' });
    t.equal(r3.status, 400);
    const r4 = await fetch(`${app.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ description: 'x'.repeat(2 * 1024 * 1024) }),
    });
    t.equal(r4.status, 413, 'a body over the limit is refused');
  });

  await t.test('a user lists only their own tokens; an admin lists all', async (t) => {
    const mine = await call(`${app.url}/api/v1/tokens`, { token: user.token });
    t.equal(mine.status, 200);
    t.ok(mine.body.tokens.length >= 2);
    t.ok(mine.body.tokens.every((x: { user: string }) => x.user === 'bob'));
    t.notOk(JSON.stringify(mine.body).includes('tdm_'), 'no secret in the list');
    const others = await call(`${app.url}/api/v1/tokens?all=true`, { token: user.token });
    t.equal(others.status, 403);
    const all = await call(`${app.url}/api/v1/tokens?all=true`, { token: admin.token });
    t.ok(all.body.tokens.some((x: { user: string }) => x.user === 'root'));
    t.ok(all.body.tokens.some((x: { user: string }) => x.user === 'bob'));
  });

  await t.test('revocation: DELETE stops the token at once; others\' tokens are not found', async (t) => {
    const extra = await createToken(app.pool, { user: 'bob', roles: ['user'] });
    const rootsOther = await createToken(app.pool, { user: 'root', roles: ['admin'] });
    const notMine = await call(`${app.url}/api/v1/tokens/${rootsOther.id}`, { method: 'DELETE', token: user.token });
    t.equal(notMine.status, 404);
    const del = await call(`${app.url}/api/v1/tokens/${extra.id}`, { method: 'DELETE', token: user.token });
    t.equal(del.status, 204);
    const after = await call(`${app.url}/api/v1/me`, { token: extra.token });
    t.equal(after.status, 401);
    t.match(after.body.error.message, /revoked/);
    const unknown = await call(`${app.url}/api/v1/tokens/not-a-uuid`, { method: 'DELETE', token: user.token });
    t.equal(unknown.status, 404);
  });

  await t.test('an expired token is refused', async (t) => {
    const short = await createToken(app.pool, { user: 'bob', roles: ['user'], expiresAt: new Date(Date.now() + 3000) });
    t.equal((await call(`${app.url}/api/v1/me`, { token: short.token })).status, 200, 'works before expiry');
    const r = await waitFor('the token to expire', async () => {
      const x = await call(`${app.url}/api/v1/me`, { token: short.token });
      return x.status === 401 ? x : undefined;
    }, 30_000);
    t.match(r.body.error.message, /expired/);
  });

  await t.test('a token is narrowed to its owner\'s roles at their last login', async (t) => {
    const tok = await createToken(app.pool, { user: 'carla', roles: ['user', 'admin'] });
    t.same((await call(`${app.url}/api/v1/me`, { token: tok.token })).body.roles, ['user', 'admin'], 'owner never logged in: the token\'s roles');
    await app.pool.query("insert into tandem.user_profiles (username, source, groups, roles) values ('carla', 'ldap', '{devs}', '{user}')");
    const me = await call(`${app.url}/api/v1/me`, { token: tok.token });
    t.same(me.body.roles, ['user'], 'the owner lost admin: so did the token');
    t.same(me.body.groups, ['devs'], 'groups from the profile');
    t.equal((await call(`${app.url}/api/v1/tokens?all=true`, { token: tok.token })).status, 403, 'and it is enforced');
  });

  await t.test('token events are audited', async (t) => {
    const r = await call(`${app.url}/api/v1/audit?event=token.revoked`, { token: admin.token });
    t.equal(r.status, 200);
    t.ok(r.body.events.length >= 1);
    t.equal(r.body.events[0].username, 'bob');
    const created = await call(`${app.url}/api/v1/audit?event=token.created`, { token: admin.token });
    t.ok(created.body.events.some((e: { details: { owner: string } }) => e.details.owner === 'bob'));
  });
});
