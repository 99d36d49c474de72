/** `tandem status`: every site's role, epoch, health, replication lag, object backlog and cluster members. */
import type { SiteEntry } from '../../server/config/schema.js';
import { countByState } from '../../server/cluster/manager.js';
import { listMembers } from '../../server/cluster/sql/list-members.js';
import type { MemberState } from '../../server/cluster/states.js';
import { withSite } from '../../server/site/connect.js';
import { inspectSite, probeActive } from '../../server/site/inspect.js';

export interface SiteStatus {
  site: string;
  url: string;
  database: 'reachable' | 'unreachable';
  role: string | null;
  epoch: number | null;
  /** What the site's job server answers on /health/active: 'active' (200), 'not active' (503), 'down' (no answer). */
  health: 'active' | 'not active' | 'down' | string;
  /** Passive sites: last applied source commit, and seconds since it (null when unknown). */
  appliedLsn: string | null;
  lastCommitTime: string | null;
  lagSeconds: number | null;
  replicator: string | null;
  objectBacklog: number | null;
  /** Job-server members of the site by state (server/cluster/); null when its database cannot be read. */
  members: Record<MemberState, number> | null;
  error?: string;
}

/** The site's cluster members by state, judged by its own database (default cluster timings). */
async function memberCounts(entry: SiteEntry, timing: { inactiveAfterMs: number; deadAfterMs: number }): Promise<Record<MemberState, number> | null> {
  try {
    return await withSite(entry.databaseUrl, async (c) => countByState(await listMembers(c, timing)), {
      applicationName: 'tandem-status',
      connectTimeoutMs: 5000,
      statementTimeoutMs: 10_000,
    });
  } catch {
    // Unreachable, or not migrated yet: the site's row already says which.
    return null;
  }
}

export function formatMemberCounts(m: Record<MemberState, number> | null): string {
  if (!m) return '-';
  const parts = Object.entries(m).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s}`);
  return parts.length ? parts.join(', ') : 'none';
}

export async function siteStatus(
  sites: Record<string, SiteEntry>,
  timing = { inactiveAfterMs: 3000, deadAfterMs: 5000 },
): Promise<SiteStatus[]> {
  return Promise.all(
    Object.entries(sites).map(async ([name, entry]) => {
      const [v, h, members] = await Promise.all([inspectSite(name, entry), probeActive(entry.url), memberCounts(entry, timing)]);
      const passive = v.row ? v.row.role !== 'active' : false;
      return {
        site: name,
        url: entry.url,
        database: v.reachable ? 'reachable' : 'unreachable',
        role: v.row?.role ?? (v.reachable ? 'uninitialised' : null),
        epoch: v.row?.epoch ?? null,
        health: h.status === 200 ? 'active' : h.status === 503 ? 'not active' : h.status === null ? 'down' : `HTTP ${h.status}`,
        appliedLsn: passive ? (v.replication?.appliedLsn ?? null) : null,
        lastCommitTime: passive ? (v.replication?.lastCommitTime?.toISOString() ?? null) : null,
        lagSeconds: passive ? (v.replication?.secondsSinceLastCommit ?? null) : null,
        replicator: passive ? (v.replication?.state ?? null) : null,
        objectBacklog: v.backlog,
        members,
        ...(v.error ? { error: v.error } : {}),
      } satisfies SiteStatus;
    }),
  );
}

export function formatStatusTable(rows: SiteStatus[]): string[] {
  const header = ['SITE', 'ROLE', 'EPOCH', 'DATABASE', 'HEALTH', 'APPLIED', 'LAG', 'REPLICATOR', 'BACKLOG', 'MEMBERS', 'URL'];
  const body = rows.map((r) => [
    r.site,
    r.role ?? '?',
    r.epoch === null ? '-' : String(r.epoch),
    r.database,
    r.health,
    r.appliedLsn ?? '-',
    r.lagSeconds === null ? '-' : `${r.lagSeconds.toFixed(1)}s`,
    r.replicator ?? '-',
    r.objectBacklog === null ? '-' : String(r.objectBacklog),
    formatMemberCounts(r.members),
    r.url,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(header), ...body.map(line)];
  const active = rows.filter((r) => r.role === 'active');
  if (active.length === 0) out.push('WARNING: no site is active (writes are refused everywhere).');
  if (active.length > 1) out.push(`WARNING: ${active.length} sites say they are active: ${active.map((r) => r.site).join(', ')}; the one with the lower epoch fences itself.`);
  for (const r of rows) if (r.error) out.push(`${r.site}: ${r.error}`);
  return out;
}
