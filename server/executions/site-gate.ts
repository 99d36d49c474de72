/**
 * For the statements that read the site's role themselves, in the same
 * statement as their write (insertExecutionIfActive, finishExecutionIfWritable):
 * the same decision and the same error as the site guard (server/site/guard.ts),
 * and the way back to the guard when such a statement cannot tell.
 */
import { mayWrite, sitePassiveError, type WriteKind } from '../site/guard.js';
import { knownRole } from '../site/roles.js';
import { SQLSTATE, sqlstateOf } from '../db/sqlstate.js';

/** Throws the guard's `site_passive` error unless a write of this kind was allowed under `role`. */
export function assertRoleAllowed(role: string, activeUrl: string | null, kind: WriteKind): void {
  const r = knownRole(role);
  if (!mayWrite(r, kind)) throw sitePassiveError({ role: r, activeUrl, readOnly: false });
}

/**
 * True for the errors after which the guard must decide instead: a read-only
 * transaction (25006: a passive site's session, refused before the role is
 * read) and a database without tandem_site.site (42P01: a single active site).
 */
export function guardMustDecide(e: unknown): boolean {
  const code = sqlstateOf(e);
  return code === SQLSTATE.READ_ONLY_SQL_TRANSACTION || code === SQLSTATE.UNDEFINED_TABLE;
}
