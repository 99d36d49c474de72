/**
 * Initial copy, consistent with the stream (when changing this, read
 * replicator/docs/initial-copy.md): the slot is created
 * with an exported snapshot; every published table is copied inside that
 * snapshot with COPY streamed from source to target (never buffered whole);
 * the target transaction that receives the rows also records the slot's
 * consistent point, from which streaming starts. Transactions committed
 * during the copy are not in the snapshot and arrive through the slot:
 * exactly once.
 *
 * The target tables are emptied first, in the same transaction: a passive
 * site's replicated tables hold nothing but what the source sends (rows a
 * migration seeded there are replaced by the source's).
 */
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { Logger } from '../../server/log.js';
import { startProgress } from '../bookkeeping/start-progress.js';
import { formatLsn, type Lsn } from '../lsn.js';
import { quoteIdent, quoteLiteral, SOURCE_SESSION_OPTIONS, type ReplicationConnection } from '../stream/connection.js';
import type { PublishedTable } from '../setup/source.js';
import { columnTypes } from './sql/column-types.js';

export interface InitialCopyOptions {
  repl: ReplicationConnection;
  sourceUrl: string;
  target: pg.Client;
  slot: string;
  tables: PublishedTable[];
  log: Logger;
  /**
   * Binary transfer (session.ts): a table whose every column has the same
   * type on both sites, with binary send and receive functions, is copied in
   * COPY's binary format (the source's send and the target's receive
   * functions instead of text output and input); any other table as text.
   */
  binary: boolean;
}

/** Whether `t` can be copied in COPY's binary format: the same column types on both sites, each with binary I/O. */
async function copiesBinary(source: pg.Client, target: pg.Client, t: PublishedTable): Promise<boolean> {
  const [src, dst] = await Promise.all([columnTypes(source, t.schema, t.name), columnTypes(target, t.schema, t.name)]);
  return t.columns.every((c) => {
    const [a, b] = [src.get(c), dst.get(c)];
    return a !== undefined && b !== undefined && a.type === b.type && a.binaryIO && b.binaryIO;
  });
}

export async function initialCopy(o: InitialCopyOptions): Promise<Lsn> {
  const { consistentPoint, snapshotName } = await o.repl.createSlot(o.slot);
  o.log.info('created replication slot with an exported snapshot; copying existing rows', {
    slot: o.slot,
    consistentPoint: formatLsn(consistentPoint),
    tables: o.tables.length,
  });
  const source = new pg.Client({ connectionString: o.sourceUrl, application_name: 'tandem-replicator-copy', options: SOURCE_SESSION_OPTIONS });
  // The source may go away during the copy (the active site dying while this passive site is built):
  // the running COPY then fails and the copy ends with that error, which the runner retries from a new
  // snapshot. Without a listener the same event, emitted on the client, would crash the process.
  source.on('error', (e) => o.log.warn('source connection of the initial copy failed', { error: e }));
  await source.connect();
  const started = Date.now();
  let totalRows = 0;
  try {
    await source.query('begin isolation level repeatable read read only');
    await source.query(`set transaction snapshot ${quoteLiteral(snapshotName)}`);
    await o.target.query('begin');
    if (o.tables.length) await o.target.query(`truncate table ${o.tables.map((t) => t.qualified).join(', ')}`);
    for (const [i, t] of o.tables.entries()) {
      const cols = t.columns.map(quoteIdent).join(', ');
      const tableStarted = Date.now();
      const format = o.binary && (await copiesBinary(source, o.target, t)) ? ' with (format binary)' : '';
      // COPY (SELECT ...) also covers partitioned tables, whose rows live in their partitions.
      const out = source.query(copyStreams.to(`copy (select ${cols} from ${t.qualified}) to stdout${format}`));
      const into = o.target.query(copyStreams.from(`copy ${t.qualified} (${cols}) from stdin${format}`));
      await pipeline(out, into);
      const rows = Number(into.rowCount ?? 0);
      totalRows += rows;
      o.log.info(`copied table ${i + 1}/${o.tables.length}`, { table: `${t.schema}.${t.name}`, rows, ms: Date.now() - tableStarted, binary: format !== '' });
    }
    await startProgress(o.target, o.slot, consistentPoint);
    await o.target.query('commit');
    await source.query('commit');
  } catch (e) {
    await o.target.query('rollback').catch(() => undefined);
    throw e;
  } finally {
    await source.end().catch(() => undefined);
  }
  o.log.info('initial copy done; streaming from the consistent point', { rows: totalRows, ms: Date.now() - started });
  return consistentPoint;
}
