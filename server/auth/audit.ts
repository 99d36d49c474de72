/**
 * Writing the audit trail. `recordAudit` waits for the row; pass a
 * transaction's client to commit it together with the change it describes.
 * (ACL denials are written in the background by authorize; successful API
 * changes by the authenticate middleware, see http/audit-changes.ts.)
 *
 * A site that is not active cannot write the replicated audit table (its
 * database is read-only for the application, and a row written there would
 * diverge from the active site). The only events such a site produces are
 * logins and logouts of its site-local sessions: `auditToLog` writes them to
 * the server log instead, as one structured line each (`audit: true`).
 */
import type { Logger } from '../log.js';
import type { Db } from '../db/db.js';
import { insertAudit, type AuditRow } from './sql/insert-audit.js';

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

/** Where the audit events of one operation go. */
export type AuditSink = (e: AuditInput) => Promise<void>;

/** The replicated audit table (through a pool or the caller's transaction). */
export function auditToDb(db: Db): AuditSink {
  return (e) => recordAudit(db, e);
}

/** The server log, on a site that cannot write the replicated audit table (see above). */
export function auditToLog(log: Logger, siteRole: string): AuditSink {
  return async (e) => {
    const r = row(e);
    log.info(`audit: ${r.event} ${r.outcome}`, {
      audit: true,
      event: r.event,
      outcome: r.outcome,
      user: r.username,
      clientAddr: r.clientAddr,
      target: r.target,
      details: r.details,
      siteRole,
      recordedIn: 'server log (this site is not active and cannot write the replicated audit table)',
    });
  };
}
