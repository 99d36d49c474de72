import type { Db } from '../../db/db.js';
import { memberStateSql, type ExecutionMode, type MemberState } from '../states.js';

export interface MemberRow {
  name: string;
  url: string;
  state: MemberState;
  generation: number;
  /** Milliseconds since its last heartbeat, on the database's clock. */
  heartbeatAgeMs: number;
  version: string;
  pid: number | null;
  startedAt: Date;
  uptimeMs: number;
  executionMode: ExecutionMode;
  tags: string[];
  /** Executions recorded running on it now. */
  running: number;
  capacity: number;
  scheduler: boolean;
  lostBy: string | null;
}

/**
 * Every member of this site with its state judged now by the database, and
 * the executions recorded running on each (from the executions themselves,
 * not from what the member last reported).
 */
export async function listMembers(db: Db, o: { inactiveAfterMs: number; deadAfterMs: number }): Promise<MemberRow[]> {
  const { rows } = await db.query<MemberRow & { generation: string }>({
    name: 'tandem.cluster.listMembers',
    text: `select m.name, m.url, ${memberStateSql('$1', '$2')} as state, m.generation,
             (extract(epoch from now() - m.heartbeat_at) * 1000)::bigint::int as "heartbeatAgeMs",
             m.version, m.pid, m.started_at as "startedAt",
             (extract(epoch from now() - m.started_at) * 1000)::bigint as "uptimeMs",
             m.execution_mode as "executionMode", m.tags, m.capacity, m.scheduler, m.lost_by as "lostBy",
             (select count(*)::int from tandem.executions e where e.member = m.name and e.status = 'running') as running
           from tandem_site.members m
           order by m.name`,
    values: [o.inactiveAfterMs, o.deadAfterMs],
  });
  return rows.map((r) => ({ ...r, generation: Number(r.generation), uptimeMs: Number(r.uptimeMs) }));
}
