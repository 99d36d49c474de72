/**
 * Writing the audit trail. `recordAudit` waits for the row (use it where the
 * event must not be lost, e.g. before answering a login); `auditInBackground`
 * is for synchronous code paths (an ACL denial is thrown as an exception
 * right away) and logs a failed write as an error instead of dropping it.
 */
import type { Logger } from '../log.js';
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

export function auditInBackground(db: Db, log: Logger, e: AuditInput): void {
  insertAudit(db, row(e)).catch((err: unknown) => log.error('audit event not written', { event: e.event, user: e.username, err }));
}
