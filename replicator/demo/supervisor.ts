/**
 * Keeps the demo's replication flowing from whichever site is active to the
 * passive one, whatever `tandem failover` / `tandem rejoin` (run by the user
 * in another shell) did to the roles. Every second it reads both sites' roles
 * and:
 *
 * - starts a link X → Y when X is active, Y passive, and X holds Y's slot
 *   unused (a slot `--reverse` or `tandem rejoin` prepared, or the one of an
 *   earlier run). At the first look only (before anything else can run), a
 *   passive site that never received replication gets its initial copy;
 *   later that case is left to `tandem rejoin`, which is then copying into it;
 * - stops a link whose target is no longer passive (promoted, or fenced):
 *   while a switchover drains, fences and catches up, the link keeps running
 *   (the target is still passive), which is what the catch-up step waits for;
 * - says what changed (roles, links, what to run next).
 */
import pg from 'pg';
import { hostname } from 'node:os';
import { getStateOwner } from '../bookkeeping/get-state-owner.js';
import { slotInfo } from '../setup/slot.js';
import { errorMessage } from '../../server/errors.js';
import type { Logger } from '../../server/log.js';
import { writableUrl } from '../../server/site/connect.js';
import { getSite } from '../../server/site/sql/get-site.js';
import { localReplication } from '../../server/site/sql/local-replication.js';
import type { SiteRow } from '../../server/site/types.js';
import { slotFor, startLink, type LinkEnd, type ReplicationLink } from './link.js';

export interface SupervisedSite extends LinkEnd {
  /** The job server's URL. */
  url: string;
}

export type SiteLook = { name: string; reachable: true; row: SiteRow | null } | { name: string; reachable: false; error: string };

export interface SupervisorOptions {
  sites: SupervisedSite[];
  log: Logger;
  out: (line: string) => void;
  /** Printed in hints, e.g. `node bin/tandem.js`. */
  hint: (site: SupervisedSite, peer: SupervisedSite) => string;
  intervalMs?: number;
  /** Wait this long before restarting a link that failed. */
  retryMs?: number;
}

/** The site that takes writes: the active one with the highest epoch (an old active one coming back fences itself). */
export function activeSite(looks: SiteLook[]): { name: string; row: SiteRow } | null {
  let best: { name: string; row: SiteRow } | null = null;
  for (const l of looks) {
    if (!l.reachable || !l.row || l.row.role !== 'active') continue;
    if (!best || l.row.epoch > best.row.epoch) best = { name: l.name, row: l.row };
  }
  return best;
}

export class DemoSupervisor {
  private readonly pools = new Map<string, pg.Pool>();
  private readonly links = new Map<string, ReplicationLink>();
  private readonly failedAt = new Map<string, number>();
  private readonly said = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;
  private first = true;
  looks: SiteLook[] = [];

  constructor(private readonly o: SupervisorOptions) {
    for (const s of o.sites) {
      const pool = new pg.Pool({ connectionString: writableUrl(s.dbUrl), max: 2, connectionTimeoutMillis: 3000, application_name: 'tandem-demo' });
      // A site's PostgreSQL may go away (the forced-failover exercise): the next look reports it unreachable.
      pool.on('error', () => undefined);
      this.pools.set(s.name, pool);
    }
  }

  /** Look now (the first look may start initial copies), then every interval. */
  async start(): Promise<SiteLook[]> {
    await this.tick();
    this.schedule();
    return this.looks;
  }

  running(): ReplicationLink[] {
    return [...this.links.values()].filter((l) => !l.ended());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.ticking;
    await Promise.all([...this.links.values()].map((l) => l.stop()));
    this.links.clear();
    await Promise.all([...this.pools.values()].map((p) => p.end()));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((e) => this.o.log.warn('demo supervisor check failed', { error: errorMessage(e) }))
        .finally(() => this.schedule());
    }, this.o.intervalMs ?? 1000);
  }

  private async look(s: SupervisedSite): Promise<SiteLook> {
    try {
      return { name: s.name, reachable: true, row: await getSite(this.pools.get(s.name)!) };
    } catch (e) {
      return { name: s.name, reachable: false, error: errorMessage(e) };
    }
  }

  private say(key: string, line: string): void {
    if (this.said.get(key) === line) return;
    this.said.set(key, line);
    this.o.out(line);
  }

  async tick(): Promise<void> {
    const initial = this.first;
    this.first = false;
    this.looks = await Promise.all(this.o.sites.map((s) => this.look(s)));
    for (const l of this.looks) {
      this.say(`role ${l.name}`, l.reachable ? `[demo] site ${l.name}: ${l.row ? `${l.row.role}, epoch ${l.row.epoch}` : 'no site state'}` : `[demo] site ${l.name}: database unreachable (${l.error})`);
    }
    // Stop links whose target is no longer passive, and forget ended ones.
    for (const [key, link] of this.links) {
      const target = this.looks.find((l) => l.name === link.to)!;
      const stillPassive = target.reachable ? target.row?.role === 'passive' : true;
      if (!link.ended() && stillPassive) continue;
      await link.stop();
      this.links.delete(key);
      const r = await link.done;
      if (!stillPassive) {
        this.o.out(`[demo] replication ${link.from} → ${link.to} stopped: ${link.to} is ${target.reachable ? target.row?.role : 'unreachable'} now`);
      } else if (r instanceof Error) {
        this.failedAt.set(key, Date.now());
        this.o.out(`[demo] replication ${link.from} → ${link.to} stopped: ${r.message}`);
      }
    }
    const active = activeSite(this.looks);
    for (const l of this.looks) {
      if (!l.reachable || !l.row || l.name === active?.name) continue;
      const source = active ?? this.switchingFrom(l.row);
      if (!source) continue;
      const from = this.o.sites.find((s) => s.name === source.name)!;
      const to = this.o.sites.find((s) => s.name === l.name)!;
      const key = `${from.name}>${to.name}`;
      if (active && l.row.role === 'active') {
        this.say(`hint ${to.name}`, `[demo] ${to.name} still says active with epoch ${l.row.epoch} < ${active.row.epoch}: its job server fences it within a second; then rebuild it with: ${this.o.hint(to, from)}`);
        continue;
      }
      if (l.row.role === 'fenced') {
        this.say(`hint ${to.name}`, `[demo] ${to.name} is fenced; to make it follow ${from.name} again: ${this.o.hint(to, from)}`);
        continue;
      }
      if (l.row.role !== 'passive' || this.links.has(key)) continue;
      if (Date.now() - (this.failedAt.get(key) ?? 0) < (this.o.retryMs ?? 5000)) continue;
      const slot = await this.slotState(from, to);
      const fresh = initial && slot === 'absent' && (await this.neverReplicated(to));
      const other = slot === 'free' ? await this.otherReplicator(to) : null;
      if (other !== null) {
        // A free slot is not enough: a `tandem rejoin` on this machine holds no slot while it copies, nor between
        // its copy and its stream, and a link started then took the slot from under it (seen in CI).
        this.say(`hint ${to.name}`, `[demo] ${to.name}: another replicator (pid ${other}) is applying into it; the demo follows once it ends`);
        continue;
      }
      if (slot === 'free' || fresh) {
        this.links.set(key, startLink(from, to, this.o.log));
        this.said.delete(`hint ${to.name}`);
        this.o.out(`[demo] replication ${from.name} → ${to.name} started (${fresh ? 'initial copy' : `slot ${slotFor(to)}`})`);
      } else if (slot === 'absent' && initial) {
        this.say(`hint ${to.name}`, `[demo] ${to.name} is passive but ${from.name} has no replication slot for it; rebuild it with: ${this.o.hint(to, from)}`);
      }
    }
  }

  /**
   * No site is active: a planned switchover stopped half-way (the old active
   * draining or fenced, the target still passive). Re-running it needs the
   * target to catch up, so the passive site keeps following the site its own
   * row names as active while that one drains or is fenced.
   */
  private switchingFrom(row: SiteRow): { name: string } | null {
    const l = this.looks.find((x) => x.name === row.activeSite);
    if (row.role !== 'passive' || !l?.reachable || !l.row || l.name === row.name) return null;
    if (l.row.role !== 'draining' && l.row.role !== 'fenced') return null;
    this.say('hint switching', `[demo] no site is active: ${l.name} is ${l.row.role} and ${row.name} passive (a switchover stopped half-way?); re-run the same \`failover --to ${row.name}\` command to complete it, or add --abort to undo it`);
    return { name: l.name };
  }

  /** Is the slot of `to` on `from` there and unused ('free'), held by another process ('busy'), or 'absent'? */
  private async slotState(from: SupervisedSite, to: SupervisedSite): Promise<'free' | 'busy' | 'absent' | 'unknown'> {
    let c: pg.PoolClient | undefined;
    try {
      c = await this.pools.get(from.name)!.connect();
      // Checked out, it has no pool listener: a site dying mid-query must fail the query, not crash the demo.
      c.on('error', ignoreError);
      const info = await slotInfo(c, slotFor(to));
      return !info ? 'absent' : info.active ? 'busy' : 'free';
    } catch (e) {
      this.o.log.debug('cannot read the replication slot', { site: from.name, error: errorMessage(e) });
      return 'unknown';
    } finally {
      c?.off('error', ignoreError);
      c?.release();
    }
  }

  /**
   * The pid of another live process on this machine whose replicator is
   * copying or streaming into `to` (its state row says so), or null.
   */
  private async otherReplicator(to: SupervisedSite): Promise<number | null> {
    const owner = await getStateOwner(this.pools.get(to.name)!, slotFor(to));
    if (!owner || (owner.state !== 'initial_sync' && owner.state !== 'streaming')) return null;
    if (owner.host !== hostname() || owner.pid === null || owner.pid === process.pid) return null;
    return processAlive(owner.pid) ? owner.pid : null;
  }

  private async neverReplicated(to: SupervisedSite): Promise<boolean> {
    return (await localReplication(this.pools.get(to.name)!)) === null;
  }
}

function ignoreError(): void {}

/** Whether a process with this pid runs (signal 0 checks without sending; EPERM: it runs as another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
