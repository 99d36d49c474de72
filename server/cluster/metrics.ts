/**
 * Cluster gauges of a job server, read from the database at scrape time:
 * `tandem_cluster_members{state}` (members of this site by state, as the
 * database judges them now), `tandem_cluster_executions_enabled` (whether
 * this member takes new executions) and `tandem_cluster_generation`.
 */
import type pg from 'pg';
import client from 'prom-client';
import type { Logger } from '../log.js';
import type { Registry } from '../metrics/registry.js';
import { countByState } from './manager.js';
import type { Membership } from './membership.js';
import { listMembers } from './sql/list-members.js';
import { MEMBER_STATES } from './states.js';

export function registerClusterMetrics(o: {
  registry: Registry;
  pool: pg.Pool;
  log: Logger;
  membership: Membership;
  timing: { inactiveAfterMs: number; deadAfterMs: number };
}): void {
  new client.Gauge({
    name: 'tandem_cluster_members',
    help: 'Cluster members of this site by state (active, inactive, dead, stopped), judged on the database clock.',
    labelNames: ['state'],
    registers: [o.registry],
    async collect() {
      this.reset();
      try {
        const counts = countByState(await listMembers(o.pool, o.timing));
        for (const s of MEMBER_STATES) this.set({ state: s }, counts[s]);
      } catch (e) {
        o.log.warn('cannot read the cluster members for metrics', { error: e });
      }
    },
  });
  new client.Gauge({
    name: 'tandem_cluster_executions_enabled',
    help: 'Whether this member takes new executions and fires schedules (execution mode of the member and of the site).',
    registers: [o.registry],
    collect() {
      this.set(o.membership.executionsEnabled ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'tandem_cluster_generation',
    help: "Generation of this member's incarnation (grows with every restart and every rejoin after being declared dead).",
    registers: [o.registry],
    collect() {
      this.set(o.membership.generation() ?? 0);
    },
  });
}
