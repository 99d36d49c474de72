/**
 * Failover timings, two real sites (harness PostgreSQL clusters, a
 * replicator a → b, a job server per site in this process):
 *
 * - failover.switchover_s: planned switchover, from the start of the
 *   command until the new site's HTTP API accepts a write (a POST answered
 *   201), no execution running; median of 3 switchovers alternating a → b →
 *   a → b with --reverse (the reverse replicator started after each). Data
 *   lost is checked to be 0 (every project of the old site is at the new one).
 * - failover.forced_s: forced failover after the active site's PostgreSQL
 *   is killed (immediate shutdown), from the start of the command until the
 *   promoted site's API accepts a write.
 *
 * Targets: under 5 s planned, under 3 s forced (so a load balancer's health checks
 * see one short outage).
 */
import { api, count, failover, startReplication, startSiteServer, startSites, type Replication, type TestSite } from '../failover/helpers.js';
import type { BenchGroup } from './report.js';

interface Teardowns {
  teardown(fn: () => unknown): void;
  run(): Promise<void>;
}

function teardowns(): Teardowns {
  const fns: (() => unknown)[] = [];
  return {
    teardown: (fn) => void fns.push(fn),
    async run() {
      for (const fn of fns.reverse()) await fn();
    },
  };
}

async function untilWriteAccepted(site: TestSite, token: string, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await api(site, token, 'POST', '/api/v1/projects', { name });
    if (r.status === 201) return;
    if (Date.now() > deadline) throw new Error(`${site.name} did not accept a write within 60 s (last answer ${r.status} ${r.text})`);
    await new Promise((res) => setTimeout(res, 20));
  }
}

const bench: BenchGroup = async (report) => {
  // Planned switchovers.
  {
    const t = teardowns();
    try {
      report.progress('starting two sites (PostgreSQL, job servers, replicator a → b)');
      const sites = await startSites(t);
      const { a, b, token } = sites;
      await startSiteServer(t, a, sites, { 'scheduler.enabled': false });
      await startSiteServer(t, b, sites, { 'scheduler.enabled': false });
      let repl: Replication = startReplication(t, a, b);
      for (let i = 0; i < 50; i++) await untilWriteAccepted(a, token, `seed${i}`);
      const deadline = Date.now() + 60_000;
      while ((await count(b, 'tandem.projects')) < 50) {
        if (Date.now() > deadline) throw new Error('replication a → b did not catch up');
        await new Promise((r) => setTimeout(r, 50));
      }
      const times: number[] = [];
      let [from, to] = [a, b];
      for (let run = 1; run <= 3; run++) {
        await untilWriteAccepted(from, token, `before${run}`);
        const t0 = performance.now();
        const res = await failover(sites, { to: to.name, reverse: true });
        await untilWriteAccepted(to, token, `after${run}`);
        const s = (performance.now() - t0) / 1000;
        const missing = (await from.q<{ n: number }>(`select count(*)::int as n from tandem.projects`)).rows[0]!.n - (await to.q<{ n: number }>(
          `select count(*)::int as n from tandem.projects where name <> $1`,
          [`after${run}`],
        )).rows[0]!.n;
        if (res.outcome !== 'done' || missing !== 0) throw new Error(`switchover ${run}: outcome ${res.outcome}, ${missing} rows missing at ${to.name}`);
        report.progress(`switchover ${run} ${from.name} → ${to.name}: ${s.toFixed(2)} s (steps: ${res.steps.map((x) => `${x.step} ${x.ms} ms`).join(', ')}); data lost: 0 rows`);
        times.push(s);
        await repl.stop();
        repl = startReplication(t, to, from);
        [from, to] = [to, from];
      }
      times.sort((x, y) => x - y);
      report.figure('failover.switchover_s', Number(times[1]!.toFixed(3)), 'planned switchover, command start → new active site accepts a write (median of 3, no execution running, data lost 0)');
      report.note(`Planned switchover (median of 3, --reverse, no execution running): ${times.map((x) => x.toFixed(2)).join(' s, ')} s; every project of the old site was at the new one each time (data lost: 0).`);
    } finally {
      await t.run();
    }
  }
  // Forced failover.
  {
    const t = teardowns();
    try {
      report.progress('starting two sites for the forced failover');
      const sites = await startSites(t);
      const { a, b, token } = sites;
      await startSiteServer(t, a, sites, { 'scheduler.enabled': false });
      await startSiteServer(t, b, sites, { 'scheduler.enabled': false });
      startReplication(t, a, b);
      await untilWriteAccepted(a, token, 'seed');
      const deadline = Date.now() + 60_000;
      while ((await count(b, 'tandem.projects')) < 1) {
        if (Date.now() > deadline) throw new Error('replication a → b did not catch up');
        await new Promise((r) => setTimeout(r, 50));
      }
      await a.pg.stop('immediate');
      const t0 = performance.now();
      const res = await failover(sites, { to: 'b', force: true });
      await untilWriteAccepted(b, token, 'after');
      const s = (performance.now() - t0) / 1000;
      if (res.outcome !== 'done') throw new Error(`forced failover: ${res.outcome}`);
      report.progress(`forced failover: ${s.toFixed(2)} s (steps: ${res.steps.map((x) => `${x.step} ${x.ms} ms`).join(', ')}); data-loss bound ${res.dataLossBound?.lsn}`);
      report.figure('failover.forced_s', Number(s.toFixed(3)), 'forced failover after the active PostgreSQL was killed, command start → promoted site accepts a write');
      report.note(`Forced failover (a's PostgreSQL stopped with an immediate shutdown): ${s.toFixed(2)} s until b accepted a write.`);
    } finally {
      await t.run();
    }
  }
};

export default bench;
