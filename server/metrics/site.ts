/**
 * Site metrics of a job server, read from its database at scrape time (one
 * small round of queries, whatever the size of the data):
 *
 * - the site's role (one series per role, 1 for the current one), epoch,
 *   and whether it serves as the active site now (role active and epoch
 *   confirmed with the peers, as `/health/active` answers);
 * - the logical replication slots of this database: on the active site,
 *   one per passive site fed from here, so lag and retained WAL stay visible
 *   while a replicator is down;
 * - on a passive site, the source commit time of the last applied
 *   transaction.
 *
 * When the database does not answer, `tandem_site_database_up` is 0 and the
 * other series are left out rather than reporting stale values.
 */
import type pg from 'pg';
import client from 'prom-client';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { getSite } from '../site/sql/get-site.js';
import { localReplication, type LocalReplication } from '../site/sql/local-replication.js';
import type { SiteRow } from '../site/types.js';
import { SITE_ROLES } from '../site/roles.js';
import type { Registry } from './registry.js';
import { SharedSample } from './sample.js';
import { maxSlotWalKeepSize } from './sql/max-slot-wal-keep-size.js';
import { replicationSlots, type SlotSample } from './sql/replication-slots.js';

const WAL_STATUSES = ['reserved', 'extended', 'unreserved', 'lost'];

export interface SiteSource {
  pool: pg.Pool;
  /** This site's name from the configuration (`site`), used when the database has no site row. */
  siteName: string | undefined;
  /** Whether the site monitor has confirmed this site active (absent: no monitor, trust the role). */
  confirmedActive?: () => boolean;
  /** False while the server drains on shutdown (then `/health/active` says no either). */
  accepting?: () => boolean;
}

interface Reading {
  ok: boolean;
  site: SiteRow | null;
  slots: SlotSample[];
  maxKeep: number;
  replication: LocalReplication | null;
}

export class SiteMetrics {
  private source: SiteSource | null = null;
  private readonly sample: SharedSample<Reading>;

  constructor(registry: Registry, log: Logger) {
    this.sample = new SharedSample(() => this.read(log));
    const m = this;
    const gauge = <L extends string>(name: string, help: string, labelNames: L[], fill: (g: client.Gauge<L>, r: Reading, site: string) => void) =>
      new client.Gauge<L>({
        name,
        help,
        labelNames,
        registers: [registry],
        async collect() {
          this.reset();
          if (!m.source) return;
          const r = await m.sample.get();
          fill(this, r, r.site?.name ?? m.source.siteName ?? 'default');
        },
      });

    gauge('tandem_site_database_up', 'Whether this job server could read its database at the last scrape.', [], (g, r) => g.set(r.ok ? 1 : 0));
    gauge('tandem_site_role', 'Role of this site (1 for the current role): active, draining, passive or fenced.', ['site', 'role'], (g, r, site) => {
      if (!r.ok) return;
      const role = r.site?.role ?? 'active';
      for (const x of SITE_ROLES) g.set({ site, role: x }, x === role ? 1 : 0);
    });
    gauge('tandem_site_epoch', 'Failover epoch of this site (grows with every promotion).', ['site'], (g, r, site) => {
      if (r.ok) g.set({ site }, r.site?.epoch ?? 0);
    });
    gauge('tandem_site_active', 'Whether this member serves its site as the active one now (role active, epoch confirmed with its peers, not shutting down), as /health/active answers.', ['site'], (g, r, site) => {
      if (!r.ok) return;
      const active = (r.site === null || r.site.role === 'active') && (m.source?.confirmedActive?.() ?? true) && (m.source?.accepting?.() ?? true);
      g.set({ site }, active ? 1 : 0);
    });
    const perSlot = (name: string, help: string, pick: (s: SlotSample) => number | null) =>
      gauge(name, help, ['slot'], (g, r) => {
        for (const s of r.slots) {
          const v = pick(s);
          if (v !== null) g.set({ slot: s.slot }, v);
        }
      });
    perSlot('tandem_replication_slot_active', 'Whether a replicator is connected to this logical replication slot of this database.', (s) => (s.active ? 1 : 0));
    perSlot('tandem_replication_slot_lag_bytes', 'WAL written on this database that the slot\'s replicator has not confirmed yet.', (s) => s.lagBytes);
    perSlot('tandem_replication_slot_retained_wal_bytes', 'WAL this database keeps for the slot.', (s) => s.retainedBytes);
    perSlot('tandem_replication_slot_safe_wal_bytes', 'WAL that may still be written before the slot is lost (absent without max_slot_wal_keep_size).', (s) => s.safeWalBytes);
    gauge('tandem_replication_slot_wal_status', 'wal_status of the slot (1 for the current one): reserved, extended, unreserved, lost.', ['slot', 'wal_status'], (g, r) => {
      for (const s of r.slots) for (const w of WAL_STATUSES) g.set({ slot: s.slot, wal_status: w }, s.walStatus === w ? 1 : 0);
    });
    gauge('tandem_database_max_slot_wal_keep_size_bytes', 'max_slot_wal_keep_size of this database (-1: unlimited).', [], (g, r) => {
      if (r.ok) g.set(r.maxKeep);
    });
    gauge(
      'tandem_replication_applied_commit_timestamp_seconds',
      'On a passive site: source commit time of the last transaction applied here (Unix seconds).',
      [],
      (g, r) => {
        const t = r.replication?.lastCommitTime;
        if (t) g.set(t.getTime() / 1000);
      },
    );
  }

  /** Start reading from this source (set once the job server has its pool and site monitor). */
  attach(source: SiteSource): void {
    this.source = source;
  }

  private async read(log: Logger): Promise<Reading> {
    const s = this.source!;
    try {
      const site = await getSite(s.pool);
      // One after the other: a scrape takes one pool connection at a time, never several.
      const slots = await replicationSlots(s.pool);
      const maxKeep = await maxSlotWalKeepSize(s.pool);
      const replication = site && site.role !== 'active' ? await localReplication(s.pool) : null;
      return { ok: true, site, slots, maxKeep, replication };
    } catch (e) {
      log.warn('metrics: cannot read the site state from the database', { error: errorMessage(e) });
      return { ok: false, site: null, slots: [], maxKeep: -1, replication: null };
    }
  }
}
