import type { Db } from '../../db/db.js';

export interface AuditRow {
  event: string;
  outcome: 'success' | 'failure' | 'denied';
  username: string | null;
  clientAddr: string | null;
  target: string | null;
  details: Record<string, unknown>;
}

export async function insertAudit(db: Db, row: AuditRow): Promise<void> {
  await db.query({
    name: 'tandem.auth.insertAudit',
    text: `insert into tandem.audit_events (event, outcome, username, client_addr, target, details)
           values ($1, $2, $3, $4, $5, $6::jsonb)`,
    values: [row.event, row.outcome, row.username, row.clientAddr, row.target, JSON.stringify(row.details)],
  });
}
