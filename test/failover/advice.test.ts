/**
 * The failover commands the Sites page prints (server/site/failover-advice.ts),
 * for each situation, as typed; and the overview behind GET /api/v1/sites
 * against a real PostgreSQL with a second site that cannot be reached:
 * reported as unreachable, quickly, next to this site's row.
 */
import t from 'tap';
import pg from 'pg';
import { failoverAdvice, type SiteFacts } from '../../server/site/failover-advice.js';
import { sitesOverview } from '../../server/site/overview.js';
import { loadConfig } from '../../server/config/load.js';
import { migrate } from '../../server/db/migrate.js';
import { initSiteState } from '../../server/site/init.js';
import { freePort } from '../../server/embedded/net.js';
import { startPostgres } from '../harness/postgres.js';

const site = (name: string, role: SiteFacts['role'], reachable = true, activeSite: string | null = 'a'): SiteFacts => ({ name, role, reachable, activeSite });
const F = '/etc/tandem/tandem.yaml';

t.test('each situation gets the runbook commands, as typed', async (t) => {
  t.equal(failoverAdvice([site('a', 'active')], null, F).situation, 'single_site');
  t.same(failoverAdvice([site('a', 'active')], null, F).commands, [], 'nothing to fail over to');

  const normal = failoverAdvice([site('a', 'active'), site('b', 'passive')], null, F);
  t.equal(normal.situation, 'normal');
  t.same(normal.commands.map((c) => c.lines), [[`tandem failover --config ${F} --to b --dry-run`, `tandem failover --config ${F} --to b --reverse --drain-timeout 5m`]]);

  const fenced = failoverAdvice([site('a', 'fenced', true, 'b'), site('b', 'active', true, 'b')], null, F);
  t.equal(fenced.situation, 'fenced_site', 'after a switchover without --reverse, or a forced failover');
  t.same(fenced.commands.map((c) => c.lines), [[`tandem rejoin --config ${F} --site a --from b --dry-run`, `tandem rejoin --config ${F} --site a --from b`]]);

  const interrupted = failoverAdvice([site('a', 'draining'), site('b', 'passive')], { kind: 'switchover', fromSite: 'a', toSite: 'b' }, F);
  t.equal(interrupted.situation, 'switchover_interrupted');
  t.same(interrupted.commands.map((c) => c.lines), [[`tandem failover --config ${F} --to b --reverse`], [`tandem failover --config ${F} --to b --abort`]]);

  const lost = failoverAdvice([site('a', null, false, null), site('b', 'passive')], null, F);
  t.equal(lost.situation, 'active_unreachable');
  t.same(lost.commands.map((c) => c.lines), [
    [`tandem status --config ${F}`, `tandem failover --config ${F} --to b --force --dry-run`, `tandem failover --config ${F} --to b --force`],
    [`tandem rejoin --config ${F} --site a --from b --dry-run`, `tandem rejoin --config ${F} --site a --from b`],
  ]);
  t.match(lost.summary, /Only if a is really gone/, 'says when (and only when) to force');

  t.equal(failoverAdvice([site('a', 'active'), site('b', 'active')], null, F).situation, 'several_active');
  const none = failoverAdvice([site('a', 'fenced'), site('b', null, false)], null, F);
  t.equal(none.situation, 'no_active');
  t.same(none.commands.map((c) => c.lines), [[`tandem status --config ${F}`]], 'only a check');

  t.equal(failoverAdvice([site('a', 'active'), site('b', 'passive')], null, '/etc/my tandem/x.yaml').commands[0]!.lines[0], `tandem failover --config '/etc/my tandem/x.yaml' --to b --dry-run`, 'a path with a space is quoted for the shell');
  t.equal(
    failoverAdvice([site('a', 'active'), site('b', 'passive')], null, undefined).commands[0]!.lines[0],
    'tandem failover --to b --dry-run',
    'a server started without --config prints commands without it (the same default lookup applies)',
  );
});

t.test('the overview: this site from its pool, an unreachable peer said plainly', async (t) => {
  const pgs = await startPostgres(t, { name: 'advice' });
  const url = await pgs.createDatabase('tandem');
  await migrate(url);
  await initSiteState({ databaseUrl: url, name: 'a', role: 'active', activeSite: 'a', activeUrl: 'http://127.0.0.1:1' });
  const closed = await freePort();
  const config = loadConfig({
    env: {},
    overrides: {
      'database.url': url,
      site: 'a',
      sites: { a: { databaseUrl: url, url: 'http://a.example:4440' }, b: { databaseUrl: `postgres://tandem@127.0.0.1:${closed}/tandem`, url: 'http://b.example:4440' } },
    },
  });
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // The harness stops PostgreSQL at teardown, possibly before the pool ends: an idle client's error then is expected.
  pool.on('error', () => undefined);
  t.teardown(() => pool.end());
  const r = await sitesOverview({ pool, config, member: 'm1', configFile: '/etc/tandem/tandem.yaml' });
  t.same(
    r.sites.map((s) => [s.name, s.here, s.database, s.role, s.epoch]),
    [
      ['a', true, 'reachable', 'active', 1],
      ['b', false, 'unreachable', null, null],
    ],
  );
  t.match(r.sites[1]!.error, /ECONNREFUSED|connect/, 'with the reason');
  t.equal(r.sites[0]!.replication, null, 'the active site has no replication into it');
  t.equal(r.advice.situation, 'normal');
  t.same(r.advice.commands, [], 'no switchover to a site that cannot be read');
  t.match(r.advice.summary, /Cannot read b/);
  t.equal(r.failover, null);
});
