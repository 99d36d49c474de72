/**
 * The Cluster Manager's operations, shared by the HTTP API
 * (GET /api/v1/system/members, POST .../executions/enable|disable) and the
 * CLI (`tandem members`): the members with their state and load, member
 * counts by state, and changes of execution mode (audited).
 */
import type pg from 'pg';
import { auditToDb, auditToLog, type AuditInput } from '../auth/audit.js';
import { withSiteLocalWrite } from '../auth/sql/transaction.js';
import { TandemError } from '../errors.js';
import type { Logger } from '../log.js';
import { mayWrite, siteRole } from '../site/guard.js';
import type { SiteRole } from '../site/roles.js';
import { getSiteRole } from '../site/sql/get-site-role.js';
import { listMembers, type MemberRow } from './sql/list-members.js';
import { getSiteExecutionMode, setMemberExecutionMode, setSiteExecutionMode } from './sql/set-execution-mode.js';
import { MEMBER_STATES, type ExecutionMode, type MemberState } from './states.js';

export interface MemberView {
  name: string;
  url: string;
  state: MemberState;
  generation: number;
  heartbeatAgeMs: number;
  version: string;
  pid: number | null;
  startedAt: string;
  uptimeMs: number;
  executionMode: ExecutionMode;
  tags: string[];
  runningExecutions: number;
  capacity: number;
  /** running / capacity */
  load: number;
  /** Its scheduler loop runs and it may fire: alive, enabled, on an active site. */
  scheduler: boolean;
  lostBy: string | null;
}

/**
 * The site these members belong to, as its database records it: after a
 * failover the old site's members keep heartbeating, and this is what says
 * they are members of a passive (or fenced) site. Name null: a database
 * never initialised as a site (a single active site).
 */
export interface MembersSite {
  name: string | null;
  role: SiteRole;
  /** Where writes go when this site is not active (null when unknown or this one). */
  activeUrl: string | null;
}

export interface MembersReport {
  site: MembersSite;
  siteExecutionMode: ExecutionMode;
  counts: Record<MemberState, number>;
  members: MemberView[];
}

export interface Timing {
  inactiveAfterMs: number;
  deadAfterMs: number;
}

export function memberView(m: MemberRow, siteMode: ExecutionMode, role: SiteRole): MemberView {
  return {
    name: m.name,
    url: m.url,
    state: m.state,
    generation: m.generation,
    heartbeatAgeMs: m.heartbeatAgeMs,
    version: m.version,
    pid: m.pid,
    startedAt: m.startedAt.toISOString(),
    uptimeMs: m.state === 'stopped' || m.state === 'dead' ? 0 : m.uptimeMs,
    executionMode: m.executionMode,
    tags: m.tags,
    runningExecutions: m.running,
    capacity: m.capacity,
    load: m.capacity > 0 ? Math.round((m.running / m.capacity) * 1000) / 1000 : 0,
    // A passive, fenced or draining site fires nothing, whatever its members' loops do.
    scheduler: m.scheduler && m.state === 'active' && m.executionMode === 'active' && siteMode === 'active' && role === 'active',
    lostBy: m.lostBy,
  };
}

export function countByState(members: readonly { state: MemberState }[]): Record<MemberState, number> {
  const counts = Object.fromEntries(MEMBER_STATES.map((s) => [s, 0])) as Record<MemberState, number>;
  for (const m of members) counts[m.state]++;
  return counts;
}

export async function membersReport(pool: pg.Pool, timing: Timing): Promise<MembersReport> {
  const [rows, siteMode, siteRow] = await Promise.all([listMembers(pool, timing), getSiteExecutionMode(pool), getSiteRole(pool)]);
  const site: MembersSite = siteRow ? { name: siteRow.name, role: siteRow.role, activeUrl: siteRow.activeUrl } : { name: null, role: 'active', activeUrl: null };
  return { site, siteExecutionMode: siteMode, counts: countByState(rows), members: rows.map((m) => memberView(m, siteMode, site.role)) };
}

/**
 * Enable or disable executions on one member (`member`) or on the whole site
 * (no `member`). A disabled member takes no new executions and fires no
 * schedules from its next heartbeat on; running ones finish. Site-local: it
 * works on a passive site too (to prepare a failover). The audit row goes to
 * the replicated audit table on the active site, to the server log elsewhere.
 */
export async function changeExecutionMode(
  pool: pg.Pool,
  log: Logger,
  c: { member?: string; mode: ExecutionMode; by: string; clientAddr?: string | null; via: 'api' | 'cli' },
): Promise<void> {
  const found = await withSiteLocalWrite(pool, async (db) => {
    if (c.member === undefined) {
      await setSiteExecutionMode(db, c.mode, c.by);
      return true;
    }
    return setMemberExecutionMode(db, c.member, c.mode);
  });
  if (!found) throw new TandemError('not_found', `no cluster member named ${JSON.stringify(c.member)}`, { field: 'name' });
  const event: AuditInput = {
    event: c.mode === 'active' ? 'cluster.executions.enabled' : 'cluster.executions.disabled',
    outcome: 'success',
    username: c.by,
    clientAddr: c.clientAddr ?? null,
    target: c.member === undefined ? 'site' : `member ${c.member}`,
    details: { executionMode: c.mode, via: c.via },
  };
  const role = await siteRole(pool);
  await (mayWrite(role) ? auditToDb(pool) : auditToLog(log, role))(event);
  log.info('execution mode changed', { member: c.member ?? null, scope: c.member === undefined ? 'site' : 'member', executionMode: c.mode, by: c.by });
}
