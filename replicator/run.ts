/**
 * runReplicator: the set-up checks once per run (setup/prepare.ts), then one
 * streaming session after another (session.ts: connections, start position
 * with the initial copy when the target has none, the apply loop). A lost
 * connection is retried with backoff from the target's own bookkeeping
 * (reconnect.ts); set-up errors, apply errors and a lost slot stop it with a
 * TandemError, recorded in the state row for `tandem replication status`.
 */
import { READ_WRITE_OPTIONS } from '../server/site/connect.js';
import { TandemError, errorMessage } from '../server/errors.js';
import { silentLogger, type Logger } from '../server/log.js';
import type { ApplyHook } from './apply/hooks.js';
import { setState } from './bookkeeping/set-state.js';
import { formatLsn, parseLsn, type Lsn } from './lsn.js';
import { syncSequencesWith } from './sequences/sync.js';
import { ControlConnection } from './setup/control-connection.js';
import { DEFAULT_PEER_TIMEOUT_MS, peerTimeoutStream } from './setup/peer-timeout.js';
import { prepareRun } from './setup/prepare.js';
import { abortable, Backoff, sessionFailure } from './reconnect.js';
import { defaultSlotName, validSlotName } from './slot-name.js';
import { runSession, SessionConnector, type RunProgress, type SessionContext, type SessionEnd } from './session.js';
import { SOURCE_SESSION_OPTIONS } from './stream/connection.js';
import type { RunMetrics } from './metrics/metrics.js';

export interface ReplicatorOptions {
  sourceUrl: string;
  targetUrl: string;
  /** Schemas to replicate (default `tandem`). */
  schemas?: string[];
  slot?: string;
  publication?: string;
  /** application_name on the replication connection: list it in synchronous_standby_names for synchronous mode. */
  applicationName?: string;
  /** Resolve once everything committed on the source before the start is committed on the target. */
  untilCaughtUp?: boolean;
  /** Rebuild the target tables from a new snapshot (after the slot was lost or dropped). */
  resync?: boolean;
  hooks?: ApplyHook[];
  log?: Logger;
  signal?: AbortSignal;
  /** Warn when the slot retains more WAL than this (default 1 GiB). */
  walWarnBytes?: number;
  /** Copy sequence values this often (default 10 s). */
  sequenceSyncIntervalMs?: number;
  /** Check the slot's health this often (default 10 s). */
  slotCheckIntervalMs?: number;
  /** First reconnect delay; doubles up to 30 s while reconnecting fails, back to the first after a session streamed (default 500 ms). */
  retryDelayMs?: number;
  /**
   * A source or target that leaves a request unanswered this long is given up and reconnected
   * (a network that drops packets sends no reset; setup/peer-timeout.ts). Default 60 s; 0: wait forever.
   */
  peerTimeoutMs?: number;
  /** At most this many source transactions per target transaction (default 2000; 1 = no grouping). */
  maxGroupTxns?: number;
  /** Apply each change with its own statement: no set-based batches, no COPY runs (tests, diagnosis). */
  rowByRow?: boolean;
  /**
   * Binary transfer: values of types with binary send and receive functions
   * travel in that format, not as text (like CREATE SUBSCRIPTION ... WITH
   * (binary = true); replicator/apply/binary-values.ts). A column whose type
   * differs on the target is read as the source's type and cast; that type
   * must exist on the target. Default true; false: every value as text.
   */
  binary?: boolean;
  /**
   * Commit LSN of one source transaction not to apply (`--skip-transaction`):
   * the operator accepts losing its changes on this site. Recorded in
   * tandem_site.replication_skips with the progress past it.
   */
  skipTransaction?: string;
  /** Counts applied transactions and rows, reconnects and errors (`tandem replicate --metrics-port`). */
  metrics?: RunMetrics;
  onProgress?: (p: { confirmed: string; appliedEnd: string; commitTime: Date | null; appliedTxns: number }) => void;
}

export interface ReplicatorResult {
  reason: 'caught_up' | 'aborted';
  /** End LSN of the last source transaction on the target. */
  appliedLsn: string;
  /** Source transactions this run applied. */
  appliedTxns: number;
  /** Times the connections were lost and made again. */
  reconnects: number;
}

export async function runReplicator(opts: ReplicatorOptions): Promise<ReplicatorResult> {
  const log = opts.log ?? silentLogger;
  const schemas = opts.schemas?.length ? opts.schemas : ['tandem'];
  const slot = opts.slot ?? defaultSlotName(opts.targetUrl);
  if (!validSlotName(slot)) throw new TandemError('invalid_option', `slot name "${slot}" is invalid: use lower-case letters, digits and underscores (at most 63)`, { field: 'slot' });
  const publication = opts.publication ?? 'tandem_pub';
  const applicationName = opts.applicationName ?? slot;
  let skip: Lsn | null = null;
  if (opts.skipTransaction !== undefined) {
    try {
      skip = parseLsn(opts.skipTransaction);
    } catch {
      throw new TandemError('invalid_option', `--skip-transaction ${opts.skipTransaction}: not an LSN (like 0/1E8A250, as printed by \`tandem replication status\`)`, { field: 'skip-transaction' });
    }
    if (opts.resync) throw new TandemError('invalid_option', '--skip-transaction and --resync do not go together: a resync copies a new snapshot and skips nothing', { field: 'skip-transaction' });
  }

  const peerTimeoutMs = opts.peerTimeoutMs ?? DEFAULT_PEER_TIMEOUT_MS;
  const srcCtl = new ControlConnection(
    { connectionString: opts.sourceUrl, application_name: 'tandem-replicator-control', options: SOURCE_SESSION_OPTIONS, stream: peerTimeoutStream('the source (control connection)', peerTimeoutMs) },
    log,
    'source',
  );
  // The target is a passive site, whose database defaults to read-only transactions for the application: not for us.
  const dstCtl = new ControlConnection(
    { connectionString: opts.targetUrl, application_name: 'tandem-replicator-control', options: READ_WRITE_OPTIONS, stream: peerTimeoutStream('the target (control connection)', peerTimeoutMs) },
    log,
    'target',
  );
  // The first session's connections open while the set-up runs (they take nothing: START_REPLICATION takes the slot).
  const connections = new SessionConnector({ sourceUrl: opts.sourceUrl, targetUrl: opts.targetUrl, applicationName, schemas, log, peerTimeoutMs });
  // Both at once: start-up time counts when catching up after a restart.
  const connected = await Promise.allSettled([srcCtl.connect(), dstCtl.connect()]);
  const connectError = connected.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (connectError) {
    await Promise.all([srcCtl.end(), dstCtl.end(), connections.close()]);
    throw connectError.reason;
  }
  const run: RunProgress = { appliedEnd: 0n as Lsn, appliedTxns: 0, skip, resync: opts.resync ?? false, streamed: false };
  let reconnects = 0;
  try {
    // Set-up: every check passes before anything is created.
    const prepared = await prepareRun(srcCtl.client, dstCtl.client, {
      publication,
      schemas,
      untilCaughtUp: opts.untilCaughtUp ?? false,
      log,
    });
    const { tables, incarnation, caughtUpAt } = prepared;
    log.info('replicator set up', { slot, publication, schemas, tables: tables.length, applicationName, caughtUpAt: caughtUpAt === null ? undefined : formatLsn(caughtUpAt) });
    const session: SessionContext = { options: opts, slot, publication, schemas, log, srcCtl, dstCtl, prepared, connections };

    const backoff = new Backoff(opts.retryDelayMs ?? 500);
    for (;;) {
      if (opts.signal?.aborted) break;
      let result: SessionEnd;
      run.streamed = false;
      try {
        result = await runSession(session, run);
      } catch (e) {
        if (opts.signal?.aborted) break;
        const failure = sessionFailure(e, slot);
        if (failure.kind === 'invalid_option') {
          // An operator's mistake (a --skip-transaction LSN that names no transaction to apply): the replicator
          // stops, and the last replication error, which the operator is still dealing with, stays on record.
          await setState(dstCtl.client, slot, 'stopped', incarnation).catch((se: Error) => log.warn('could not record the state on the target', { error: se }));
          throw failure.error;
        }
        if (failure.kind === 'fatal') {
          opts.metrics?.failed();
          await dstCtl.renew().catch(() => undefined);
          await setState(dstCtl.client, slot, 'error', incarnation, failure.details).catch((se: Error) => log.warn('could not record the error on the target', { error: se }));
          log.error('replication stopped', { error: errorMessage(failure.error) });
          throw failure.error;
        }
        opts.metrics?.reconnecting();
        reconnects++;
        const delay = backoff.next(run.streamed);
        if (failure.kind === 'retry') log.warn(`a transaction of the replication session was rolled back by PostgreSQL (${errorMessage(failure.error)}); starting the session again in ${delay} ms`, { reconnects });
        else log.warn(`replication connection failed; reconnecting in ${delay} ms`, { error: errorMessage(failure.error), reconnects });
        await abortable(delay, opts.signal);
        continue;
      }
      if (result === 'caught_up') {
        await syncSequencesWith(srcCtl.client, dstCtl.client, schemas, log);
        await setState(dstCtl.client, slot, 'stopped', incarnation);
        log.info('caught up with the source', { appliedLsn: formatLsn(run.appliedEnd) });
        return { reason: 'caught_up', appliedLsn: formatLsn(run.appliedEnd), appliedTxns: run.appliedTxns, reconnects };
      }
      break;
    }
    await setState(dstCtl.client, slot, 'stopped', incarnation).catch(() => undefined);
    return { reason: 'aborted', appliedLsn: formatLsn(run.appliedEnd), appliedTxns: run.appliedTxns, reconnects };
  } finally {
    await srcCtl.end();
    await dstCtl.end();
    await connections.close(); // the set-up failed before a session used them
  }
}
