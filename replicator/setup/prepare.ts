/**
 * The replicator's set-up, once per run before any session: every check
 * passes before anything is created (source server settings, publication,
 * target tables and role), then the target's bookkeeping and this run's
 * incarnation, and the timings the sessions derive from the source. The
 * source's and the target's queries overlap where one does not need the
 * other's answer, and a publication that is already complete (every start
 * but the first) is only read: start-up time is part of every catch-up after
 * a restart (replicator/docs/performance.md, "Start-up").
 */
import type pg from 'pg';
import type { Logger } from '../../server/log.js';
import { ensureBookkeeping, newIncarnation } from '../bookkeeping/ensure-schema.js';
import { parseLsn, type Lsn } from '../lsn.js';
import { checkSourceServer, ensurePublication, publicationComplete, publicationPlan, publishedTables, type PublishedTable } from './source.js';
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
  // The target's role is checked while the source is (two connections): start-up time counts when catching
  // up after a restart. Awaited before anything is created; a source error is reported first, as before.
  const role = checkReplicaRole(target).then(
    () => null,
    (e: unknown) => e,
  );
  const roleChecked = async () => {
    const e = await role;
    if (e) throw e;
  };
  let tables: PublishedTable[];
  try {
    await checkSourceServer(source);
    if (publicationComplete(await publicationPlan(source, o.publication, o.schemas))) {
      // Every start but the first: nothing to create, so no transaction and no lock.
      tables = await publishedTables(source, o.publication, o.schemas);
      await roleChecked(); // first: a refused role check leaves its transaction to roll back on the target connection
      await checkTargetTables(target, tables);
    } else {
      // The publication is created in a transaction that commits only when the target matches it: a bad set-up leaves nothing behind.
      await source.query('begin');
      try {
        // Replicators of several passive sites may start at once: one at a time creates the publication.
        await source.query("select pg_advisory_xact_lock(hashtext('tandem.replication_setup'))");
        await ensurePublication(source, o.publication, o.schemas, o.log);
        tables = await publishedTables(source, o.publication, o.schemas);
        await roleChecked();
        await checkTargetTables(target, tables);
        await source.query('commit');
      } catch (e) {
        await source.query('rollback').catch(() => undefined);
        throw e;
      }
    }
  } finally {
    await role; // never left running on the target connection
  }
  // The target's bookkeeping and this run's incarnation while the source answers for its timings.
  const [incarnation, senderTimeout, caughtUpAt] = await Promise.all([
    ensureBookkeeping(target).then(() => newIncarnation(target)),
    source.query<{ wal_sender_timeout: string }>('show wal_sender_timeout').then((r) => parseDurationSetting(r.rows[0]!.wal_sender_timeout)),
    o.untilCaughtUp
      ? source.query<{ lsn: string }>('select pg_current_wal_flush_lsn()::text as lsn').then((r) => parseLsn(r.rows[0]!.lsn))
      : Promise.resolve(null),
  ]);
  const statusIntervalMs = senderTimeout > 0 ? Math.max(200, Math.min(10_000, Math.floor(senderTimeout / 3))) : 10_000;
  return { tables, incarnation, senderTimeout, statusIntervalMs, caughtUpAt };
}
