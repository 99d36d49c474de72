/**
 * The target connection the applier writes through. Its settings mirror the
 * source connections' (ISO dates, UTC, exact floats) so that a value's text
 * means the same thing on both sides, and `session_replication_role = replica`
 * keeps user triggers and foreign-key checks from firing on replicated rows,
 * as PostgreSQL's own apply worker does (a transaction's rows may arrive in an
 * order the constraints would refuse mid-way; the source already checked them,
 * and its cascaded changes arrive as changes of their own). A role that may not
 * set it is refused (setup/target-role.ts).
 */
import pg from 'pg';
import { READ_WRITE_OPTIONS } from '../../server/site/connect.js';
import { replicaRoleError } from '../setup/target-role.js';
import { DEFAULT_PEER_TIMEOUT_MS, peerTimeoutStream, watchClient } from '../setup/peer-timeout.js';
import { SQLSTATE, sqlstateOf } from '../../server/db/sqlstate.js';

export const TARGET_SESSION_SQL =
  "set datestyle = ISO; set intervalstyle = postgres; set extra_float_digits = 3; set timezone = 'UTC'; " +
  "set bytea_output = hex; set standard_conforming_strings = on; set lc_monetary = 'C'; set xmloption = content";

export async function openTargetClient(url: string, applicationName = 'tandem-replicator', peerTimeoutMs = DEFAULT_PEER_TIMEOUT_MS): Promise<pg.Client> {
  // A passive site's database defaults to read-only transactions for the application, not for the replicator.
  // A target that stops answering (a dropped network) is given up instead of waited for forever (setup/peer-timeout.ts).
  const client = watchClient(new pg.Client({ connectionString: url, application_name: applicationName, options: READ_WRITE_OPTIONS, stream: peerTimeoutStream('the target', peerTimeoutMs) }));
  // Until the session adds its own listener, a connection lost while idle must not crash the process
  // (an unhandled 'error' event); the next query on it fails and the session is retried.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(TARGET_SESSION_SQL);
    try {
      await client.query('set session_replication_role = replica');
    } catch (e) {
      // Checked at set-up (setup/target-role.ts); the right may have been revoked since. No degraded mode: see there.
      if (sqlstateOf(e) !== SQLSTATE.INSUFFICIENT_PRIVILEGE) throw e;
      const role = (await client.query<{ r: string }>('select current_user::text as r')).rows[0]!.r;
      throw replicaRoleError(role, (e as Error).message);
    }
  } catch (e) {
    await client.end().catch(() => undefined);
    throw e;
  }
  return client;
}
