/**
 * A planned switchover interrupted right after each step in turn (as if the
 * process died there), then re-run: it always completes, never with two
 * active sites, and nothing acknowledged is lost. Also: --abort undoes a
 * switchover interrupted before the promotion, and a forced failover
 * interrupted after each step completes when re-run.
 */
import t from 'tap';
import { api, count, failover, startReplication, startSiteServer, startSites, waitFor, watchActive, type Replication, type TestSite } from './helpers.js';
import { FailpointError, SWITCHOVER_STEPS, FORCED_STEPS } from '../../replicator/failover/index.js';

async function roles(sites: TestSite[]): Promise<string[]> {
  return Promise.all(sites.map(async (s) => (await s.q(`select role from tandem_site.site`)).rows[0].role as string));
}

t.test('switchover interrupted after each step, then re-run', async (t) => {
  const top = t; // what must outlive one subtest (the replicator) is torn down with this test
  const sites = await startSites(t);
  const { a, b, token } = sites;
  await startSiteServer(t, a, sites, { 'scheduler.enabled': false });
  await startSiteServer(t, b, sites, { 'scheduler.enabled': false });
  const watcher = watchActive(t, [a, b]);
  let repl: Replication = startReplication(t, a, b);
  let active = a;
  let passive = b;
  t.equal((await api(a, token, 'POST', '/api/v1/projects', { name: 'p0' })).status, 201);
  await waitFor('b has caught up', async () => (await count(b, `tandem.projects where name = 'p0'`)) === 1);

  for (const [i, step] of SWITCHOVER_STEPS.entries()) {
    await t.test(`killed after "${step}" (${active.name} → ${passive.name})`, async (t) => {
      t.equal((await api(active, token, 'POST', '/api/v1/projects', { name: `p${i + 1}` })).status, 201, `write on ${active.name} before the switch`);
      await t.rejects(failover(sites, { to: passive.name, reverse: true, failAfter: step }), FailpointError, `stopped after ${step}`);
      const r = await roles([active, passive]);
      t.ok(r.filter((x) => x === 'active').length <= 1, `at most one active site in the databases (${r.join(', ')})`);
      const journal = await passive.q(`select state from tandem_site.failover_journal where state = 'running'`);
      t.equal(journal.rows.length, 1, 'the journal shows the run in progress');

      const lines: string[] = [];
      const res = await failover(sites, { to: passive.name, reverse: true }, lines);
      t.equal(res.outcome, 'done', 're-run completes');
      t.ok(lines.some((l) => l.includes('already done')) || step === 'drain', 're-run skips what was done');
      t.same(await roles([active, passive]), ['passive', 'active'], 'roles swapped');
      t.equal(await count(passive, `tandem.projects where name = 'p${i + 1}'`), 1, 'the write before the switch is at the new active site');
      t.equal((await passive.q(`select count(*)::int as n from tandem_site.failover_journal where state = 'running'`)).rows[0].n, 0, 'journal closed');

      // Reverse replication, as the operator would start it.
      await repl.stop();
      repl = startReplication(top, passive, active);
      [active, passive] = [passive, active];
      await waitFor(`${active.name} answers 200`, async () => (await fetch(active.url + '/health/active')).status === 200, 10_000);
    });
  }

  await t.test('--abort undoes a switchover stopped before the promotion', async (t) => {
    await t.rejects(failover(sites, { to: passive.name, failAfter: 'catch up' }), FailpointError);
    t.same(await roles([active, passive]), ['fenced', 'passive'], `${active.name} fenced, ${passive.name} still passive`);
    const lines: string[] = [];
    const res = await failover(sites, { to: passive.name, abort: true }, lines);
    t.equal(res.outcome, 'undone');
    t.same(await roles([active, passive]), ['active', 'passive'], `${active.name} active again`);
    await waitFor(`${active.name} answers 200 again`, async () => (await fetch(active.url + '/health/active')).status === 200, 10_000);
    t.equal((await api(active, token, 'POST', '/api/v1/projects', { name: 'after-abort' })).status, 201, 'and takes writes');
    const again = await failover(sites, { to: passive.name, abort: true });
    t.equal(again.outcome, 'undone', 'aborting again is harmless');
  });

  await t.test('dry run changes nothing', async (t) => {
    const lines: string[] = [];
    const res = await failover(sites, { to: passive.name, dryRun: true }, lines);
    t.equal(res.outcome, 'dry_run');
    t.ok(lines.some((l) => l.startsWith('plan: planned switchover')), 'plan printed');
    t.ok(lines.includes('checks passed.'), 'checks printed');
    t.same(await roles([active, passive]), ['active', 'passive']);
  });

  await watcher.stop();
  t.ok(watcher.rounds() > 20, `watcher polled ${watcher.rounds()} rounds`);
  t.same(watcher.violations, [], 'never two sites answering 200 on /health/active');
});

t.test('forced failover interrupted after each step, then re-run', async (t) => {
  for (const step of FORCED_STEPS) {
    await t.test(`killed after "${step}"`, async (t) => {
      const sites = await startSites(t);
      const { a, b } = sites;
      const repl = startReplication(t, a, b);
      await a.q(`insert into tandem.projects (name) values ('x')`);
      await waitFor('replicated', async () => (await count(b, 'tandem.projects')) === 1);
      await repl.stop();
      await a.pg.stop('immediate');
      await t.rejects(failover(sites, { to: 'b', force: true, failAfter: step }), FailpointError);
      const res = await failover(sites, { to: 'b', force: true });
      t.equal(res.outcome, 'done', 're-run completes');
      t.equal((await b.q(`select role, epoch::int from tandem_site.site`)).rows[0].epoch, 2, 'b active with epoch 2, taken once');
      t.equal((await b.q(`select count(*)::int as n from tandem.audit_events where event = 'site.failover.forced'`)).rows[0].n, 1, 'one audit row');
      const again = await failover(sites, { to: 'b', force: true });
      t.equal(again.outcome, 'already_active', 'a third run has nothing to do');
    });
  }
});
