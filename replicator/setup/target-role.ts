/**
 * The target role must be able to set `session_replication_role = replica`.
 * Without it the target's own triggers and foreign-key actions run a second
 * time on rows the source already processed: a parent deleted with ON DELETE
 * CASCADE (Tandem's schema has several) takes its children with it on the
 * target, and the children's own delete, which the source also sends, then
 * finds no row and stops replication; append-only or audit triggers refuse or
 * double what they record. There is no safe degraded mode, so the replicator
 * refuses to start and says how to grant the right.
 */
import type pg from 'pg';
import { TandemError } from '../../server/errors.js';
import { quoteIdent } from '../stream/connection.js';
import { SQLSTATE, sqlstateOf } from '../../server/db/sqlstate.js';

export function replicaRoleError(role: string, cause: string): TandemError {
  return new TandemError(
    'replication_setup',
    `the target role "${role}" may not set session_replication_role (${cause}); the replicator needs it so that the target's triggers and ` +
      `foreign-key actions (e.g. ON DELETE CASCADE) do not run again on rows the source already processed. ` +
      `As a superuser on the target run: GRANT SET ON PARAMETER session_replication_role TO ${quoteIdent(role)}; (PostgreSQL 15+), or replicate as a superuser`,
  );
}

/** Try the setting in a transaction that is rolled back (one round trip): nothing changes, a refusal becomes a set-up error. */
export async function checkReplicaRole(client: pg.ClientBase): Promise<void> {
  try {
    await client.query('begin; set local session_replication_role = replica; rollback');
  } catch (e) {
    // The refusal aborted the transaction and skipped the rest of the string: end it here.
    await client.query('rollback').catch(() => undefined);
    if (sqlstateOf(e) !== SQLSTATE.INSUFFICIENT_PRIVILEGE) throw e;
    const role = (await client.query<{ r: string }>('select current_user::text as r')).rows[0]!.r;
    throw replicaRoleError(role, (e as Error).message);
  }
}
