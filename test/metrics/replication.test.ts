/**
 * Acceptance: scrape the job servers of two sites and the replicator between
 * them during a real workload, a stopped replicator and a planned
 * switchover. Lag (seen by the active site's slot metrics and by the
 * replicator) rises while the replicator is stopped and falls to 0 once it
 * is back; the active-site gauges flip with the switchover.
 */
import t from 'tap';
import { runReplicator } from '../../replicator/index.js';
import { ReplicatorMetrics } from '../../replicator/metrics/metrics.js';
import { Probe } from '../../replicator/metrics/probe.js';
import { startMetricsServer } from '../../replicator/metrics/server.js';
import { defaultSlotName } from '../../replicator/slot-name.js';

import { writableUrl } from '../../server/site/connect.js';
import { api, failover, startSiteServer, startSites, waitFor, type TestSite } from '../failover/helpers.js';
import type { Teardown } from '../harness/tmp.js';
import { scrape, suspiciousLabels } from './scrape.js';
import { testLog } from '../harness/log.js';

/** A replicator from → to with its metrics listener, as `tandem replicate --metrics-port 0` runs it. */
async function replicatorWithMetrics(t: Teardown, from: TestSite, to: TestSite) {
  const slot = defaultSlotName(writableUrl(to.dbUrl));
  const metrics = new ReplicatorMetrics({ slot });
  const probe = new Probe({ sourceUrl: from.dbUrl, targetUrl: writableUrl(to.dbUrl), slot, log: testLog });
  metrics.attach(probe);
  const server = await startMetricsServer({ registry: metrics.registry, host: '127.0.0.1', port: 0, log: testLog });
  const ac = new AbortController();
  const done = runReplicator({ sourceUrl: from.dbUrl, targetUrl: writableUrl(to.dbUrl), slot, log: testLog, signal: ac.signal, retryDelayMs: 100, slotCheckIntervalMs: 1000, metrics }).catch((e: Error) => e);
  let stopped = false;
  /** Stop it; resolves to how it ended (the error it stopped with, if any). */
  const stop = async () => {
    ac.abort();
    const r = await done;
    if (!stopped) {
      stopped = true;
      await server.close();
      await probe.close();
    }
    return r;
  };
  t.teardown(async () => void (await stop()));
  return { url: server.url, slot, stop };
}

const job = `- name: work
  multipleExecutions: true
  sequence:
    commands:
    - exec: echo working
`;

async function runAndWait(site: TestSite, token: string, jobId: string): Promise<void> {
  const r = await api(site, token, 'POST', `/api/v1/jobs/${jobId}/run`, {});
  if (r.status !== 201) throw new Error(`run: ${r.status} ${r.text}`);
  await waitFor('the execution to end', async () => ['succeeded', 'failed'].includes((await api(site, token, 'GET', `/api/v1/executions/${r.body.id}`)).body?.status));
}

t.test('metrics of two sites and a replicator through an outage and a switchover', async (t) => {
  const sites = await startSites(t);
  const { a, b, token } = sites;
  let repl = await replicatorWithMetrics(t, a, b);
  await startSiteServer(t, a, sites);
  await startSiteServer(t, b, sites);

  t.equal((await api(a, token, 'POST', '/api/v1/projects', { name: 'ops' })).status, 201);
  const imported = await api(a, token, 'POST', '/api/v1/projects/ops/jobs', job, { 'content-type': 'application/yaml' });
  const jobId = imported.body.jobs[0].id as string;
  for (let i = 0; i < 3; i++) await runAndWait(a, token, jobId);

  // The replicator applies the workload; its lag and the slot's settle at 0.
  const r1 = await waitFor('the replicator to catch up', async () => {
    const m = await scrape(repl.url);
    return m.sum('tandem_replicator_lag_bytes') === 0 && m.sum('tandem_replicator_applied_rows_total', { table: 'tandem.executions' }) >= 3 ? m : undefined;
  });
  t.ok(r1.sum('tandem_replicator_applied_transactions_total') >= 4, `applied transactions counted (${r1.sum('tandem_replicator_applied_transactions_total')})`);
  t.ok(r1.sum('tandem_replicator_applied_rows_total', { table: 'tandem.step_results' }) >= 3, 'rows counted per table');
  t.ok(r1.sum('tandem_replicator_apply_duration_seconds_count') >= 1, 'apply time observed');
  t.equal(r1.sum('tandem_replicator_lag_seconds'), 0, 'no lag in seconds either');
  t.equal(r1.sum('tandem_replicator_slot_wal_status', { wal_status: 'reserved' }), 1, 'slot wal_status reserved');
  t.ok(r1.sum('tandem_replicator_slot_retained_wal_bytes') > 0, 'retained WAL reported');
  t.equal(r1.sum('tandem_replicator_source_up'), 1);
  t.equal(r1.sum('tandem_replicator_streaming'), 1);
  t.equal(r1.sum('tandem_replicator_object_copy_backlog'), 0, 'no object copy waiting');
  t.equal(r1.sum('tandem_replicator_last_error_timestamp_seconds'), 0, 'no error so far');
  t.ok(r1.series.every((s) => s.labels.slot === repl.slot), 'every series names the slot');
  t.same(suspiciousLabels(r1), [], 'no id in any label');

  const sa = await waitFor('a\'s view of the slot to show no lag', async () => {
    const m = await scrape(a.url);
    return m.sum('tandem_replication_slot_lag_bytes', { slot: repl.slot }) === 0 && m.sum('tandem_replication_slot_active', { slot: repl.slot }) === 1 ? m : undefined;
  });
  t.equal(sa.sum('tandem_site_role', { site: 'a', role: 'active' }), 1, 'a is active');
  t.equal(sa.sum('tandem_site_active', { site: 'a' }), 1);
  t.equal(sa.sum('tandem_site_epoch', { site: 'a' }), 1);
  const sb = await scrape(b.url);
  t.equal(sb.sum('tandem_site_role', { site: 'b', role: 'passive' }), 1, 'b is passive');
  t.equal(sb.sum('tandem_site_active', { site: 'b' }), 0);
  t.ok(sb.sum('tandem_replication_applied_commit_timestamp_seconds') > Date.now() / 1000 - 600, 'b knows when the last applied transaction was committed');

  // Replicator stopped: a keeps working, and its slot metrics show the lag growing.
  t.notOk((await repl.stop()) instanceof Error, 'the replicator stopped cleanly');
  await waitFor('a to see the slot inactive', async () => (await scrape(a.url)).sum('tandem_replication_slot_active', { slot: repl.slot }) === 0);
  let lagWhileStopped = 0;
  for (let i = 0; i < 3; i++) {
    await runAndWait(a, token, jobId);
    const lag = (await scrape(a.url)).sum('tandem_replication_slot_lag_bytes', { slot: repl.slot });
    t.ok(lag > lagWhileStopped, `lag rises while the replicator is stopped (${lagWhileStopped} → ${lag} bytes)`);
    lagWhileStopped = lag;
  }
  const retained = (await scrape(a.url)).sum('tandem_replication_slot_retained_wal_bytes', { slot: repl.slot });
  t.ok(retained >= lagWhileStopped, `the slot retains at least the unconfirmed WAL (${retained} bytes)`);

  // Replicator back: the lag falls to 0 on both sides.
  repl = await replicatorWithMetrics(t, a, b);
  const back = await waitFor('the restarted replicator to catch up', async () => {
    const m = await scrape(repl.url);
    return m.sum('tandem_replicator_lag_bytes') === 0 && m.sum('tandem_replicator_applied_transactions_total') > 0 ? m : undefined;
  });
  t.equal(back.sum('tandem_replicator_lag_seconds'), 0, 'lag in seconds back to 0');
  await waitFor('a to see the lag back at 0', async () => (await scrape(a.url)).sum('tandem_replication_slot_lag_bytes', { slot: repl.slot }) === 0);
  t.pass('lag fell to 0 after the replicator came back');
  const { rows } = await b.q<{ n: number }>(`select count(*)::int as n from tandem.executions`);
  t.equal(rows[0]!.n, 6, 'b has every execution');

  // Planned switchover a → b: the active-site gauges flip.
  const res = await failover(sites, { to: 'b', reverse: true });
  t.equal(res.outcome, 'done', 'switchover done');
  await repl.stop(); // the switchover dropped its slot: it ends with slot_lost, as it should
  await waitFor('b to report itself active', async () => (await scrape(b.url)).sum('tandem_site_active', { site: 'b' }) === 1, 15_000);
  const after = { a: await scrape(a.url), b: await scrape(b.url) };
  t.equal(after.a.sum('tandem_site_active', { site: 'a' }), 0, 'a no longer active');
  t.equal(after.a.sum('tandem_site_role', { site: 'a', role: 'active' }), 0);
  t.equal(after.a.sum('tandem_site_role', { site: 'a', role: 'passive' }), 1, 'a passive (reverse)');
  t.equal(after.b.sum('tandem_site_role', { site: 'b', role: 'active' }), 1, 'b active');
  t.equal(after.b.sum('tandem_site_epoch', { site: 'b' }), 2, 'b took epoch 2');
  t.equal(after.a.sum('tandem_site_active') + after.b.sum('tandem_site_active'), 1, 'exactly one site active (what the alerts count)');
  t.ok(after.b.has('tandem_replication_slot_active'), 'b now holds the reverse slot for a');
});
