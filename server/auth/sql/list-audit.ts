import type { Db } from '../../db/db.js';

export interface AuditQuery {
  limit: number;
  /** Only events strictly older than this time (paging backwards). */
  before: Date | null;
  event: string | null;
  username: string | null;
}

export interface AuditRecord {
  id: string;
  at: Date;
  event: string;
  outcome: string;
  username: string | null;
  clientAddr: string | null;
  target: string | null;
  details: Record<string, unknown>;
}

/** Newest first. */
export async function listAudit(db: Db, q: AuditQuery): Promise<AuditRecord[]> {
  const { rows } = await db.query<{
    id: string;
    at: Date;
    event: string;
    outcome: string;
    username: string | null;
    client_addr: string | null;
    target: string | null;
    details: Record<string, unknown>;
  }>({
    name: 'tandem.auth.listAudit',
    text: `select id, at, event, outcome, username, client_addr, target, details
           from tandem.audit_events
           where ($2::timestamptz is null or at < $2)
             and ($3::text is null or event = $3)
             and ($4::text is null or username = $4)
           order by at desc, id
           limit $1`,
    values: [q.limit, q.before, q.event, q.username],
  });
  return rows.map((r) => ({
    id: r.id,
    at: r.at,
    event: r.event,
    outcome: r.outcome,
    username: r.username,
    clientAddr: r.client_addr,
    target: r.target,
    details: r.details,
  }));
}
