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
 * its database, a member does not claim to be active again before a complete
 * check has succeeded (a check overlapped by a database failure counts as
 * failed).
 *
 * When the peers cannot be reached. A peer that does not answer in time
 * (down, partitioned, or only slow: a connection under heavy load can take
 * longer than the connect timeout) tells nothing about its epoch, so an
 * unreachable peer is never taken as permission to be active:
 *
 * - a site whose PostgreSQL restarted since it last saw a peer (its database
 *   was down, which is exactly when an operator may have promoted that peer
 *   with a forced failover) stays unconfirmed (503 on /health/active, no
 *   schedules) until it has compared epochs with that peer; a peer that a
 *   forced failover recorded as presumed lost (sql/mark-peer-presumed-lost.ts)
 *   is not waited for, and neither is one this database has never seen;
 * - a site whose database kept running keeps its confirmation while a peer
 *   is unreachable: a passive site that is down must not take the active one
 *   down with it. If the active site was cut off from its peer while an
 *   operator forced a failover, it learns of the higher epoch only when it
 *   can reach the peer again; deploy/README.md ("Forced failover") gives
 *   that window's bound and how fencing limits it.
 */
import type pg from 'pg';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { poolReadWrite, withSite } from './connect.js';
import { fenceSelf } from './fence.js';
import { getSite } from './sql/get-site.js';
import { peersUnseenSinceRestart } from './sql/peers-unseen-since-restart.js';
import { recordPeerEpoch } from './sql/record-peer-epoch.js';
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
  /** Called when `confirmedActive()` changed, after the scheduler was started or stopped (the member reports it). */
  onActiveChange?: (active: boolean) => void;
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
  /** Counts databaseFailed() calls: a check that overlapped one must not confirm anything. */
  private failures = 0;
  /** Why an active site is not confirmed although its checks succeed (peers it must ask first); null otherwise. */
  private waiting: string | null = null;
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
    this.failures++;
    this.confirmed = false;
  }

  /** Why an `active` site does not claim to be active although its database answers (null: nothing known beyond "not checked yet"). */
  unconfirmedReason(): string | null {
    return this.confirmedActive() ? null : this.waiting;
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
    const failuresAtStart = this.failures;
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
    // An unreachable peer is no permission: see "When the peers cannot be reached" above.
    let waiting: string | null = null;
    if (row?.role === 'active') {
      const unreachable = views.filter((v) => !v.reachable);
      const mustAsk = unreachable.length ? await peersUnseenSinceRestart(pool) : new Set<string>();
      const pending = unreachable.filter((v) => mustAsk.has(v.site));
      if (pending.length) {
        const names = pending.map((v) => v.site).join(', ');
        waiting = `this site's database restarted since it last compared epochs with site ${names}, which cannot be reached now (it may have been promoted meanwhile)`;
        // Logged when the reason changes, not every check; the peers' errors go to the log only (not to /health/active).
        if (waiting !== this.waiting) {
          log.warn('not claiming to be active before comparing epochs with a peer that cannot be reached', {
            site: row.name,
            epoch: row.epoch,
            peers: pending.map((v) => ({ site: v.site, error: v.error })),
            hint: `if site ${names} is really lost (not only out of reach from here), record that with \`tandem failover --to ${row.name} --force\` (deploy/README.md, "No active site")`,
          });
        }
      }
    }
    if (waiting === null && this.waiting !== null) log.info('the peers this site waited for answered (or are no longer awaited)', { site: row?.name });
    this.waiting = waiting;
    const wasActive = this.confirmedActive();
    if (row?.role !== this.lastRow?.role) this.generation++;
    this.lastRow = row;
    // A database failure seen while this check ran (by a health check or the load-balancer gate) outranks it.
    this.confirmed = waiting === null && this.failures === failuresAtStart;
    if (this.confirmedActive()) {
      if (!wasActive && row) log.info('this site is active', { site: row.name, epoch: row.epoch });
      this.o.scheduler?.start();
    } else {
      if (wasActive && row) log.warn('this site is no longer active: scheduler stopped', { site: row.name, role: row.role, epoch: row.epoch, reason: row.reason });
      await this.o.scheduler?.stop();
    }
    if (this.confirmedActive() !== wasActive) this.o.onActiveChange?.(this.confirmedActive());
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
