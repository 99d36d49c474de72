/**
 * The site monitor of one job server. At start and every
 * `failover.checkInterval` it reads this site's role and epoch, looks at
 * every peer listed in `sites`, and:
 *
 * - fences this site when a peer has a higher epoch (an old active site
 *   coming back after a forced failover): role `fenced`, database default
 *   read-only, scheduler stopped, and an error log line saying why;
 * - runs the scheduler only while this site is active and its state has been
 *   confirmed since the last database failure;
 * - remembers peers' epochs (a later promotion goes above them) and, on a
 *   passive site, which peer is active (named in the 503 answers to writes).
 *
 * `/health/active` answers 200 only while `confirmedActive()` holds and the
 * database still says `active` (server/http/routes/health.ts): after losing
 * its database, a site does not claim to be active again before it has
 * compared epochs with its peers.
 */
import type pg from 'pg';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { poolReadWrite, withSite } from './connect.js';
import { fenceSelf } from './fence.js';
import { getSite } from './sql/get-site.js';
import { recordPeerEpoch } from './sql/peer-epochs.js';
import { setSiteRole } from './sql/set-site-role.js';
import type { SiteRow } from './types.js';

/** What the monitor starts and stops (the job server's scheduler). */
export interface Startable {
  start(): void;
  stop(): Promise<void>;
}

export interface SiteMonitorOptions {
  pool: pg.Pool;
  config: Config;
  log: Logger;
  /** Run only while this site is active (null: nothing to run, e.g. scheduler disabled). */
  scheduler: Startable | null;
}

export interface PeerView {
  site: string;
  url: string;
  reachable: boolean;
  role?: SiteRow['role'];
  epoch?: number;
  error?: string;
}

export class SiteMonitor {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;
  private confirmed = false;
  private lastRow: SiteRow | null = null;
  private peers: PeerView[] = [];

  /** Role generation the sessions of the pool must match (see alignSessions). */
  private generation = 0;
  private readonly sessionGeneration = new WeakMap<object, number>();
  private readonly onAcquire = (client: pg.PoolClient) => this.alignSession(client);
  /**
   * A new session starts with the database's default, which the role change
   * set in the same transaction, so it is aligned already. Marking it here
   * also keeps a SET from being queued on a session that is still finishing
   * its start-up (node-pg warns about queued queries, and pg 9 refuses them).
   */
  private readonly onConnect = (client: pg.PoolClient) => this.sessionGeneration.set(client, this.generation);

  constructor(private readonly o: SiteMonitorOptions) {
    o.pool.on('connect', this.onConnect);
    o.pool.on('acquire', this.onAcquire);
  }

  /**
   * A pooled session keeps the read-only default it was opened with, but the
   * site's role may have changed since (a promotion, a fence). When the pool
   * hands out a session from an older role generation, a session-level SET
   * is queued before the caller's first query (node-pg runs them in order).
   */
  private alignSession(client: pg.PoolClient): void {
    const row = this.lastRow;
    if (!row || this.sessionGeneration.get(client) === this.generation) return;
    this.sessionGeneration.set(client, this.generation);
    const readOnly = row.role === 'active' ? 'off' : 'on';
    client.query(`set default_transaction_read_only = ${readOnly}`).catch((e: Error) => this.o.log.warn('could not align a session with the site role', { error: e.message }));
  }

  /** Check once (awaited, so a returning old active fences itself before scheduling anything), then periodically. */
  async start(): Promise<void> {
    await this.check();
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.check().finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.o.config.failover.checkInterval);
      });
    };
    this.timer = setTimeout(loop, this.o.config.failover.checkInterval);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.o.pool.off('connect', this.onConnect);
    this.o.pool.off('acquire', this.onAcquire);
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    await this.o.scheduler?.stop();
  }

  /** Active, and confirmed by a complete check since the last failure to reach this site's database. */
  confirmedActive(): boolean {
    return this.confirmed && (this.lastRow === null || this.lastRow.role === 'active');
  }

  /** Called by health checks that failed to reach the database: nothing is confirmed until the next complete check. */
  databaseFailed(): void {
    this.confirmed = false;
  }

  /** The site row as of the last check (null: single site without a site row). */
  site(): SiteRow | null {
    return this.lastRow;
  }

  peerViews(): PeerView[] {
    return this.peers;
  }

  /** One complete check; never throws (failures are logged and leave the site unconfirmed). */
  async check(): Promise<void> {
    try {
      await this.checkOnce();
    } catch (e) {
      if (this.confirmed) this.o.log.warn('site check failed; this site is not confirmed active until the next check succeeds', { error: errorMessage(e) });
      this.confirmed = false;
      await this.o.scheduler?.stop();
    }
  }

  private async checkOnce(): Promise<void> {
    const { config, pool, log } = this.o;
    let row = await getSite(pool);
    const self = config.site;
    const peers = Object.entries(config.sites ?? {}).filter(([name]) => name !== self);
    const views = await Promise.all(peers.map(([name, entry]) => this.look(name, entry.databaseUrl, entry.url)));
    this.peers = views;
    if (row) {
      for (const v of views) if (v.reachable && v.epoch !== undefined) await poolReadWrite(pool, (c) => recordPeerEpoch(c, v.site, v.epoch!, v.role ?? null)).catch((e) => this.noteWriteFailure(e));
      const higher = views.filter((v) => v.reachable && v.epoch !== undefined && v.epoch > row!.epoch).sort((a, b) => b.epoch! - a.epoch!)[0];
      if (higher && (row.role === 'active' || row.role === 'draining')) {
        log.error('a peer has a higher epoch: fencing this site (no writes, no schedules); rebuild it with `tandem rejoin`', {
          site: row.name,
          epoch: row.epoch,
          peer: higher.site,
          peerEpoch: higher.epoch,
          peerRole: higher.role,
        });
        await this.o.scheduler?.stop();
        row = await fenceSelf(pool, {
          activeSite: higher.role === 'active' ? higher.site : null,
          activeUrl: higher.role === 'active' ? higher.url : null,
          reason: `fenced at start-up/check: site ${higher.site} has epoch ${higher.epoch} > ${row.epoch}`,
        });
      } else if (row.role === 'passive' || row.role === 'fenced') {
        // Keep the 503 answers pointing at the current active site.
        const active = views.filter((v) => v.reachable && v.role === 'active').sort((a, b) => b.epoch! - a.epoch!)[0];
        if (active && active.url !== row.activeUrl) {
          row = await this.retarget(row, active).catch((e) => {
            this.noteWriteFailure(e);
            return row!;
          });
        }
      }
    }
    const wasActive = this.confirmedActive();
    if (row?.role !== this.lastRow?.role) this.generation++;
    this.lastRow = row;
    this.confirmed = true;
    if (this.confirmedActive()) {
      if (!wasActive && row) log.info('this site is active', { site: row.name, epoch: row.epoch });
      this.o.scheduler?.start();
    } else {
      if (wasActive && row) log.warn('this site is no longer active: scheduler stopped', { site: row.name, role: row.role, epoch: row.epoch, reason: row.reason });
      await this.o.scheduler?.stop();
    }
  }

  private retarget(row: SiteRow, active: PeerView): Promise<SiteRow> {
    return poolReadWrite(this.o.pool, (c) => setSiteRole(c, { role: row.role, from: [row.role], activeSite: active.site, activeUrl: active.url, reason: row.reason ?? `follows ${active.site}` }));
  }

  private noteWriteFailure(e: unknown): void {
    this.o.log.warn('site monitor could not record what it saw', { error: errorMessage(e) });
  }

  private async look(site: string, databaseUrl: string, url: string): Promise<PeerView> {
    try {
      const row = await withSite(databaseUrl, (c) => getSite(c), { applicationName: 'tandem-site-monitor', connectTimeoutMs: 1500, statementTimeoutMs: 3000 });
      if (!row) return { site, url, reachable: true };
      return { site, url, reachable: true, role: row.role, epoch: row.epoch };
    } catch (e) {
      return { site, url, reachable: false, error: errorMessage(e) };
    }
  }
}
