/**
 * runReplicator: set-up checks, initial copy when the target has none, then
 * streaming with reconnects. Connection failures are retried with backoff
 * from the target's own bookkeeping; set-up errors, apply errors and a lost
 * slot stop it with a TandemError (recorded for `tandem replication status`).
 */
import pg from 'pg';
import { READ_WRITE_OPTIONS } from '../server/site/connect.js';
import { TandemError, errorMessage } from '../server/errors.js';
import { silentLogger, type Logger } from '../server/log.js';
import { Applier } from './apply/applier.js';
import type { ApplyHook } from './apply/hooks.js';
import { openTargetClient } from './apply/target-session.js';
import { getProgress } from './bookkeeping/get-progress.js';
import { setState } from './bookkeeping/set-state.js';
import { formatLsn, parseLsn, type Lsn } from './lsn.js';
import { syncSequencesWith } from './sequences/sync.js';
import { slotInfo } from './setup/slot.js';
import { ControlConnection } from './setup/control-connection.js';
import { DEFAULT_PEER_TIMEOUT_MS, peerTimeoutStream } from './setup/peer-timeout.js';
import { prepareRun } from './setup/prepare.js';
import { startPosition } from './setup/start-position.js';
import { abortable, Backoff, sessionFailure } from './reconnect.js';
import { defaultSlotName, validSlotName } from './slot-name.js';
import { ReplicationConnection, SOURCE_SESSION_OPTIONS } from './stream/connection.js';
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
  let first: SessionConnections | null = openSessionConnections(opts.sourceUrl, opts.targetUrl, applicationName, log, peerTimeoutMs);
  // Both at once: start-up time counts when catching up after a restart.
  const connected = await Promise.allSettled([srcCtl.connect(), dstCtl.connect()]);
  const connectError = connected.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (connectError) {
    await Promise.all([srcCtl.end(), dstCtl.end(), closeSessionConnections(first)]);
    throw connectError.reason;
  }
  let totalApplied = 0;
  let reconnects = 0;
  /** Whether the current session got as far as streaming (then the next reconnect starts over at the first delay). */
  let streamed = false;
  let lastApplied: Lsn = 0n as Lsn;
  let resync = opts.resync ?? false;
  try {
    // Set-up: every check passes before anything is created.
    const { tables, incarnation, senderTimeout, statusIntervalMs, caughtUpAt } = await prepareRun(srcCtl.client, dstCtl.client, {
      publication,
      schemas,
      untilCaughtUp: opts.untilCaughtUp ?? false,
      log,
    });
    log.info('replicator set up', { slot, publication, schemas, tables: tables.length, applicationName, caughtUpAt: caughtUpAt === null ? undefined : formatLsn(caughtUpAt) });

    const backoff = new Backoff(opts.retryDelayMs ?? 500);
    for (;;) {
      if (opts.signal?.aborted) break;
      let result: 'caught_up' | 'aborted';
      streamed = false;
      try {
        result = await session();
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
        const delay = backoff.next(streamed);
        log.warn(`replication connection failed; reconnecting in ${delay} ms`, { error: errorMessage(failure.error), reconnects });
        await abortable(delay, opts.signal);
        continue;
      }
      if (result === 'caught_up') {
        await syncSequencesWith(srcCtl.client, dstCtl.client, schemas, log);
        await setState(dstCtl.client, slot, 'stopped', incarnation);
        log.info('caught up with the source', { appliedLsn: formatLsn(lastApplied) });
        return { reason: 'caught_up', appliedLsn: formatLsn(lastApplied), appliedTxns: totalApplied, reconnects };
      }
      break;
    }
    await setState(dstCtl.client, slot, 'stopped', incarnation).catch(() => undefined);
    return { reason: 'aborted', appliedLsn: formatLsn(lastApplied), appliedTxns: totalApplied, reconnects };

    async function session(): Promise<'caught_up' | 'aborted'> {
      // Control connections lost with a database restart are replaced first (a failure here is retried).
      await srcCtl.renew();
      await dstCtl.renew();
      const conns = first ?? openSessionConnections(opts.sourceUrl, opts.targetUrl, applicationName, log, peerTimeoutMs);
      first = null;
      const { repl, replConnected } = conns;
      let target: pg.Client;
      try {
        target = await conns.target;
      } catch (e) {
        await closeSessionConnections(conns);
        throw e;
      }
      let applier: Applier | null = null;
      let finished: 'caught_up' | 'aborted' | null = null;
      const timers: NodeJS.Timeout[] = [];
      const finish = (why: 'caught_up' | 'aborted') => {
        if (finished) return;
        finished = why;
        applier?.stop();
        void repl.close();
      };
      const onAbort = () => finish('aborted');
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      target.on('error', (e) => log.warn('target connection error', { error: e }));
      try {
        const [progress, existing] = await Promise.all([getProgress(target, slot), waitSlotFree()]);
        await replConnected;
        const { startAt, copied } = await startPosition({
          source: srcCtl.client,
          control: dstCtl.client,
          target,
          repl,
          sourceUrl: opts.sourceUrl,
          slot,
          tables,
          incarnation,
          log,
          progress,
          existing,
          skip,
          resync,
        });
        if (copied) resync = false;
        lastApplied = startAt;
        await setState(dstCtl.client, slot, 'streaming', incarnation);
        repl.start(slot, publication, startAt, statusIntervalMs);
        streamed = true;
        log.info('streaming', { slot, from: formatLsn(startAt) });
        applier = new Applier({
          target,
          stream: repl,
          slot,
          appliedEnd: startAt,
          hooks: opts.hooks,
          log,
          maxGroupTxns: opts.maxGroupTxns,
          rowByRow: opts.rowByRow,
          skipTransaction: skip ?? undefined,
          onSkipped: () => {
            skip = null; // done: a reconnect must not look for it again
          },
          metrics: opts.metrics,
          onConfirmed: (confirmed, pos) => {
            lastApplied = pos.appliedEnd;
            opts.onProgress?.({ confirmed: formatLsn(confirmed), appliedEnd: formatLsn(pos.appliedEnd), commitTime: pos.commitTime, appliedTxns: totalApplied + (applier?.appliedTxns ?? 0) });
            if (caughtUpAt !== null && confirmed >= caughtUpAt) finish('caught_up');
          },
        });
        if (caughtUpAt !== null) {
          // Ask for keepalives: their position tells when an idle stream has nothing older left.
          timers.push(setInterval(() => repl.confirm(repl.confirmed, true), 200));
        }
        timers.push(setInterval(() => void checkSlot(), opts.slotCheckIntervalMs ?? 10_000));
        timers.push(
          setInterval(
            () => void syncSequencesWith(srcCtl.client, dstCtl.client, schemas, log).catch((e: Error) => log.warn('sequence sync failed', { error: e })),
            opts.sequenceSyncIntervalMs ?? 10_000,
          ),
        );
        let lastLogged = 0;
        timers.push(
          setInterval(() => {
            const n = applier?.appliedTxns ?? 0;
            if (n !== lastLogged) log.info('replicating', { appliedTxns: totalApplied + n, position: formatLsn(applier!.position.appliedEnd), pending: repl.pending });
            lastLogged = n;
          }, 10_000),
        );
        opts.metrics?.streaming(true);
        try {
          await applier.runLoop();
        } catch (e) {
          if (!finished) throw e;
        }
        return finished ?? 'aborted';
      } finally {
        for (const t of timers) clearInterval(t);
        opts.metrics?.streaming(false);
        opts.signal?.removeEventListener('abort', onAbort);
        totalApplied += applier?.appliedTxns ?? 0;
        await repl.close();
        await target.end().catch(() => undefined);
      }

      /**
       * The slot's previous consumer (this process before a reconnect, or one that was killed) may
       * still hold it until the source notices the dead connection: wait a while before calling it
       * a second replicator.
       */
      async function waitSlotFree() {
        const deadline = Date.now() + Math.max(30_000, 2 * senderTimeout);
        for (;;) {
          const info = await slotInfo(srcCtl.client, slot);
          if (!info?.active || Date.now() > deadline || opts.signal?.aborted) return info;
          log.info('the slot is still held by a previous connection; waiting for the source to release it', { slot, pid: info.activePid });
          await abortable(500, opts.signal);
        }
      }

      async function checkSlot(): Promise<void> {
        try {
          const info = await slotInfo(srcCtl.client, slot);
          if (!info || info.walStatus === 'lost') {
            log.error('replication slot lost', { slot, walStatus: info?.walStatus ?? 'dropped' });
            return; // the stream fails on its own; the restart then reports slot_lost
          }
          const warnAt = opts.walWarnBytes ?? 1024 ** 3;
          if (info.retainedBytes !== null && info.retainedBytes > warnAt)
            log.warn('the replication slot retains a lot of WAL on the source', { slot, retainedBytes: info.retainedBytes, threshold: warnAt, walStatus: info.walStatus });
        } catch (e) {
          log.warn('could not check the replication slot', { error: e as Error });
        }
      }
    }
  } finally {
    await srcCtl.end();
    await dstCtl.end();
    if (first) await closeSessionConnections(first); // the set-up failed before a session used them
  }
}

/** A session's replication connection and target session, being opened. */
interface SessionConnections {
  repl: ReplicationConnection;
  replConnected: Promise<void>;
  target: Promise<pg.Client>;
}

function openSessionConnections(sourceUrl: string, targetUrl: string, applicationName: string, log: Logger, peerTimeoutMs: number): SessionConnections {
  const repl = new ReplicationConnection({ connectionString: sourceUrl, applicationName, log, peerTimeoutMs });
  const replConnected = repl.connect();
  const target = openTargetClient(targetUrl, 'tandem-replicator', peerTimeoutMs);
  // Awaited by the session (or closed unused); a failure must not go unhandled meanwhile.
  replConnected.catch(() => undefined);
  target.catch(() => undefined);
  return { repl, replConnected, target };
}

async function closeSessionConnections(c: SessionConnections): Promise<void> {
  await c.replConnected.catch(() => undefined);
  await c.repl.close();
  const target = await c.target.catch(() => null);
  await target?.end().catch(() => undefined);
}
