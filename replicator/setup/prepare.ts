/**
 * The replicator's set-up, once per run before any session: every check
 * passes before anything is created (source server settings, publication,
 * target tables and role), then the target's bookkeeping and this run's
 * incarnation, and the timings the sessions derive from the source.
 */
import type pg from 'pg';
import type { Logger } from '../../server/log.js';
import { ensureBookkeeping, newIncarnation } from '../bookkeeping/ensure-schema.js';
import { parseLsn, type Lsn } from '../lsn.js';
import { checkSourceServer, ensurePublication, publishedTables, type PublishedTable } from './source.js';
import { checkTargetTables } from './target.js';
import { checkReplicaRole } from './target-role.js';

export interface PreparedRun {
  tables: PublishedTable[];
  /** This run's number: the state row belongs to the newest run (bookkeeping/set-state.ts). */
  incarnation: number;
  /** The source's wal_sender_timeout in ms (0: none). */
  senderTimeout: number;
  /** How often the stream sends standby status updates: well within wal_sender_timeout. */
  statusIntervalMs: number;
  /** With untilCaughtUp: the source's flush position at the start, to catch up with. */
  caughtUpAt: Lsn | null;
}

function parseDurationSetting(v: string): number {
  const m = /^(\d+)\s*(ms|s|min|h)?$/.exec(v.trim());
  if (!m) return 60_000;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'min' ? n * 60_000 : m[2] === 'h' ? n * 3_600_000 : n * 1000;
}

export async function prepareRun(
  source: pg.Client,
  target: pg.Client,
  o: { publication: string; schemas: string[]; untilCaughtUp: boolean; log: Logger },
): Promise<PreparedRun> {
  await checkSourceServer(source);
  let tables: PublishedTable[];
  // The publication is created in a transaction that commits only when the target matches it: a bad set-up leaves nothing behind.
  await source.query('begin');
  try {
    // Replicators of several passive sites may start at once: one at a time creates the publication.
    await source.query("select pg_advisory_xact_lock(hashtext('tandem.replication_setup'))");
    await ensurePublication(source, o.publication, o.schemas, o.log);
    tables = await publishedTables(source, o.publication, o.schemas);
    await checkTargetTables(target, tables);
    await checkReplicaRole(target);
    await source.query('commit');
  } catch (e) {
    await source.query('rollback').catch(() => undefined);
    throw e;
  }
  await ensureBookkeeping(target);
  const incarnation = await newIncarnation(target);
  const senderTimeout = parseDurationSetting((await source.query<{ wal_sender_timeout: string }>('show wal_sender_timeout')).rows[0]!.wal_sender_timeout);
  const statusIntervalMs = senderTimeout > 0 ? Math.max(200, Math.min(10_000, Math.floor(senderTimeout / 3))) : 10_000;
  const caughtUpAt: Lsn | null = o.untilCaughtUp
    ? parseLsn((await source.query<{ lsn: string }>('select pg_current_wal_flush_lsn()::text as lsn')).rows[0]!.lsn)
    : null;
  return { tables, incarnation, senderTimeout, statusIntervalMs, caughtUpAt };
}
