/**
 * Writing the audit trail. `recordAudit` waits for the row; pass a
 * transaction's client to commit it together with the change it describes.
 * (ACL denials are written in the background by authorize; successful API
 * changes by the authenticate middleware, see http/auditChanges.ts.)
 */
import type { Db } from './sql/db.js';
import { insertAudit, type AuditRow } from './sql/insertAudit.js';

export type AuditEvent =
  | 'login'
  | 'logout'
  | 'token.created'
  | 'token.revoked'
  | 'acl.denied'
  | 'job.created'
  | 'job.updated'
  | 'job.deleted'
  | 'execution.started'
  | 'execution.aborted'
  | 'project.created'
  | 'project.deleted';

export interface AuditInput {
  event: AuditEvent | (string & {});
  outcome: AuditRow['outcome'];
  username?: string | null;
  clientAddr?: string | null;
  target?: string | null;
  details?: Record<string, unknown>;
}

/** PostgreSQL text cannot hold NUL; an attacker-chosen user name may contain one. */
function clean(s: string | null | undefined): string | null {
  return s === undefined || s === null ? null : s.replace(/\u0000/g, '\uFFFD');
}

function row(e: AuditInput): AuditRow {
  const details = e.details ? (JSON.parse(JSON.stringify(e.details).replace(/\\u0000/g, '\\ufffd')) as Record<string, unknown>) : {};
  return {
    event: e.event,
    outcome: e.outcome,
    username: clean(e.username),
    clientAddr: clean(e.clientAddr),
    target: clean(e.target),
    details,
  };
}

export async function recordAudit(db: Db, e: AuditInput): Promise<void> {
  await insertAudit(db, row(e));
}
