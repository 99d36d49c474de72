/**
 * The two (or more) sites as one job-server member sees them, for
 * GET /api/v1/sites and the web UI's Sites page: this site from its own pool,
 * every other site of `sites` from its database with short timeouts (an
 * unreachable site is reported as such, quickly), and the failover commands
 * that fit (failover-advice.ts). Read only.
 *
 * Replication lag in bytes is WAL written at the active site that the
 * passive site's replicator has not confirmed (its slot at the active site);
 * in seconds, the age of the last source commit applied at the passive site
 * (an upper bound: an idle active site makes it grow too).
 */
import path from 'node:path';
import type pg from 'pg';
import type { Config, SiteEntry } from '../config/schema.js';
import { countByState, membersReport, type MembersReport } from '../cluster/manager.js';
import { listMembers } from '../cluster/sql/list-members.js';
import type { MemberState } from '../cluster/states.js';
import { errorMessage } from '../errors.js';
import { replicationSlots, type SlotSample } from '../metrics/sql/replication-slots.js';
import type { Db } from '../db/db.js';
import { withSite } from './connect.js';
import { failoverAdvice, type FailoverAdvice, type RunningFailover } from './failover-advice.js';
import { getSite } from './sql/get-site.js';
import { getRunningJournal } from './sql/get-running-journal.js';
import { localReplication } from './sql/local-replication.js';
import { objectBacklog } from './sql/object-backlog.js';
import type { SiteRow } from './types.js';

export interface SiteReplication {
  appliedLsn: string;
  lastCommitTime: string | null;
  lagSeconds: number | null;
  /** null: the active site's slot for this site could not be read. */
  lagBytes: number | null;
  state: string | null;
  lastError: { message: string; at: string | null } | null;
}

export interface SiteOverview {
  name: string;
  url: string;
  /** The site of the member that answered. */
  here: boolean;
  database: 'reachable' | 'unreachable';
  role: SiteRow['role'] | 'uninitialised' | null;
  epoch: number | null;
  activeSite: string | null;
  reason: string | null;
  updatedAt: string | null;
  /** Passive sites: the replication into them (null: never replicated, or not passive). */
  replication: SiteReplication | null;
  /** Log objects named by replicated rows and not yet copied here (null: no object replication). */
  objectBacklog: number | null;
  members: Record<MemberState, number> | null;
  /** Why the database could not be read. */
  error?: string;
}

export interface SitesReport {
  site: string | null;
  member: string;
  sites: SiteOverview[];
  /** This site's cluster members (as GET /api/v1/system/members). */
  members: MembersReport;
  failover: (RunningFailover & { startedAt: string; steps: string[] }) | null;
  advice: FailoverAdvice;
  checkedAt: string;
}

interface Read {
  row: SiteRow | null;
  replication: Awaited<ReturnType<typeof localReplication>>;
  backlog: number | null;
  slots: SlotSample[];
  members: Record<MemberState, number>;
  journal: Awaited<ReturnType<typeof getRunningJournal>>;
}

async function readSite(db: Db, timing: { inactiveAfterMs: number; deadAfterMs: number }): Promise<Read> {
  const row = await getSite(db);
  const replication = await localReplication(db);
  const backlog = await objectBacklog(db);
  const slots = await replicationSlots(db);
  const members = countByState(await listMembers(db, timing));
  const journal = row ? await getRunningJournal(db) : null;
  return { row, replication, backlog, slots, members, journal };
}

export interface OverviewDeps {
  pool: pg.Pool;
  config: Config;
  member: string;
  /** The configuration file this server was started with, for the printed commands (absent: FILE). */
  configFile?: string;
  /** Connect timeout towards the other sites' databases. */
  peerTimeoutMs?: number;
}

export async function sitesOverview(d: OverviewDeps): Promise<SitesReport> {
  const timing = { inactiveAfterMs: d.config.cluster.inactiveAfter, deadAfterMs: d.config.cluster.deadAfter };
  const here = d.config.site ?? null;
  const entries: Array<[string, SiteEntry | null]> = d.config.sites ? Object.entries(d.config.sites) : [];
  if (!entries.some(([n]) => n === here)) entries.unshift([here ?? 'this site', null]);
  const timeout = d.peerTimeoutMs ?? 2000;
  const reads = await Promise.all(
    entries.map(async ([name, entry]): Promise<{ name: string; entry: SiteEntry | null; here: boolean; read?: Read; error?: string }> => {
      const isHere = name === (here ?? 'this site');
      try {
        const read = isHere
          ? await readSite(d.pool, timing)
          : await withSite(entry!.databaseUrl, (c) => readSite(c, timing), { applicationName: 'tandem-sites-page', connectTimeoutMs: timeout, statementTimeoutMs: 5000 });
        return { name, entry, here: isHere, read };
      } catch (e) {
        return { name, entry, here: isHere, error: errorMessage(e) };
      }
    }),
  );
  const activeSlots = reads.find((r) => r.read?.row?.role === 'active')?.read?.slots ?? null;
  const sites: SiteOverview[] = reads.map((r) => {
    const row = r.read?.row ?? null;
    const passive = row !== null && row.role !== 'active';
    const rep = passive ? (r.read?.replication ?? null) : null;
    return {
      name: r.name,
      url: r.entry?.url ?? '',
      here: r.here,
      database: r.read ? 'reachable' : 'unreachable',
      role: row?.role ?? (r.read ? 'uninitialised' : null),
      epoch: row?.epoch ?? null,
      activeSite: row?.activeSite ?? null,
      reason: row?.reason ?? null,
      updatedAt: row?.updatedAt.toISOString() ?? null,
      replication: rep && {
        appliedLsn: rep.appliedLsn,
        lastCommitTime: rep.lastCommitTime?.toISOString() ?? null,
        lagSeconds: rep.secondsSinceLastCommit,
        lagBytes: activeSlots?.find((s) => s.slot === rep.slot)?.lagBytes ?? null,
        state: rep.state,
        lastError: rep.lastError,
      },
      objectBacklog: r.read?.backlog ?? null,
      members: r.read?.members ?? null,
      ...(r.error ? { error: r.error } : {}),
    };
  });
  const journal = reads.map((r) => r.read?.journal).find((j) => j) ?? null;
  const running = journal ? { kind: journal.kind, fromSite: journal.fromSite, toSite: journal.toSite } : null;
  const configFile = d.configFile ? path.resolve(d.configFile) : undefined;
  return {
    site: here,
    member: d.member,
    sites,
    members: await membersReport(d.pool, timing),
    failover: journal && running ? { ...running, startedAt: journal.startedAt.toISOString(), steps: journal.steps.map((s) => s.step) } : null,
    advice: failoverAdvice(
      sites.map((s) => ({ name: s.name, reachable: s.database === 'reachable', role: s.role === 'uninitialised' ? null : s.role, activeSite: s.activeSite })),
      running,
      configFile,
    ),
    checkedAt: new Date().toISOString(),
  };
}
