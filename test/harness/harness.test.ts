import t from 'tap';
import { existsSync } from 'node:fs';
import { Client as LdapClient, EqualityFilter } from 'ldapts';
import { startPostgres } from './postgres.js';
import { startLdap, SERVICE_DN, SERVICE_PASSWORD, users, groups, BASE_DN } from './ldap.js';

t.test('three PostgreSQL clusters and one slapd at once', async (t) => {
  const dirs: string[] = [];
  await t.test('start, query, stop', async (t) => {
    const [a, b, c, ldap] = await Promise.all([
      startPostgres(t, { name: 'a' }),
      startPostgres(t, { name: 'b' }),
      startPostgres(t, { name: 'c' }),
      startLdap(t),
    ]);
    dirs.push(a.dir, b.dir, c.dir);
    t.equal(new Set([a.port, b.port, c.port]).size, 3, 'each cluster has its own port');
    for (const pg of [a, b, c]) {
      const r = await pg.query<{ wal_level: string; ok: number }>("select current_setting('wal_level') as wal_level, 1 as ok");
      t.same(r.rows[0], { wal_level: 'logical', ok: 1 }, `${pg.name} answers with wal_level=logical`);
      const url = await pg.createDatabase('fresh');
      t.match(url, /^postgres:\/\/.*@127\.0\.0\.1:\d+\/fresh$/);
    }
    // A write on one cluster is not visible on another: they really are separate servers.
    await a.query('create table only_here(x int)');
    const seen = await b.query("select to_regclass('public.only_here') as r");
    t.equal(seen.rows[0]!.r, null, 'clusters are independent');

    const client = new LdapClient({ url: ldap.url, timeout: 5000, connectTimeout: 5000 });
    try {
      await client.bind(SERVICE_DN, SERVICE_PASSWORD);
      const { searchEntries } = await client.search(`ou=people,${BASE_DN}`, {
        filter: new EqualityFilter({ attribute: 'uid', value: users.star.uid }),
      });
      t.equal(searchEntries.length, 1, 'the user with filter characters is found by an escaped filter');
      t.equal(searchEntries[0]!.dn.toLowerCase(), users.star.dn.toLowerCase().replace('\\\\', '\\5c'));
      const nonAscii = await client.search(`ou=people,${BASE_DN}`, {
        filter: new EqualityFilter({ attribute: 'uid', value: users.muller.uid }),
      });
      t.equal(nonAscii.searchEntries.length, 1, 'the non-ASCII user is found');
      const posix = await client.search(`ou=groups,${BASE_DN}`, {
        filter: new EqualityFilter({ attribute: 'memberUid', value: 'carol' }),
      });
      t.same(posix.searchEntries.map((e) => e.dn), [groups.devs], 'posixGroup membership');
      const nested = await client.search(`ou=groups,${BASE_DN}`, {
        filter: new EqualityFilter({ attribute: 'member', value: groups.team }),
      });
      t.same(nested.searchEntries.map((e) => e.dn), [groups.ops], 'the nested group is a member of ops');
      await client.bind(users.muller.dn, users.muller.password);
      t.pass('a non-ASCII user binds with a non-ASCII password');
      await t.rejects(client.bind(users.alice.dn, 'wrong'), { code: 49 }, 'a wrong password is refused');
    } finally {
      await client.unbind();
    }
  });
  for (const d of dirs) t.notOk(existsSync(d), `${d} removed at teardown`);
});

t.test('a cluster can be killed and restarted with its data', async (t) => {
  const pg = await startPostgres(t, { name: 'crash' });
  await pg.query('create table kept(x int); insert into kept values (42)');
  await pg.stop('kill');
  t.notOk(pg.running(), 'stopped');
  await pg.start();
  const r = await pg.query<{ x: number }>('select x from kept');
  t.same(r.rows, [{ x: 42 }], 'committed data survives a kill -9 of the whole cluster');
});
