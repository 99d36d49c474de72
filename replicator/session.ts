/**
 * One replication session: open the replication connection and the target
 * session, wait until the slot is free, find the start position (initial
 * copy, resync, or resume from the target's bookkeeping), stream through an
 * Applier until caught up, stopped or failed, then close both connections.
 * runReplicator (run.ts) runs one session after another: a session that
 * throws is classified there (reconnect.ts); what carries from one session to
 * the next is a RunProgress. A session resumes from the target's own record
 * of what it holds, never from the slot's position: when changing this, read
 * replicator/docs/lsn-handling.md.
 */
import type pg from 'pg';
import type { Logger } from '../server/log.js';
import { Applier } from './apply/applier.js';
import { installRowCheck } from './apply/row-check.js';
import { TargetTables } from './apply/target-columns.js';
import { openTargetClient } from './apply/target-session.js';
import { getProgress } from './bookkeeping/get-progress.js';
import { setState } from './bookkeeping/set-state.js';
import { formatLsn, type Lsn } from './lsn.js';
import { abortable } from './reconnect.js';
import type { ReplicatorOptions } from './run.js';
import { syncSequencesWith } from './sequences/sync.js';
import type { ControlConnection } from './setup/control-connection.js';
import type { PreparedRun } from './setup/prepare.js';
import { slotInfo } from './setup/slot.js';
import { startPosition } from './setup/start-position.js';
import { ReplicationConnection } from './stream/connection.js';

/** The run's options a session reads. */
type SessionOptions = Pick<
  ReplicatorOptions,
  'sourceUrl' | 'hooks' | 'signal' | 'walWarnBytes' | 'sequenceSyncIntervalMs' | 'slotCheckIntervalMs' | 'maxGroupTxns' | 'rowByRow' | 'binary' | 'metrics' | 'onProgress'
>;

/**
 * Binary transfer unless the run asks for text (ReplicatorOptions.binary): it
 * costs less CPU on all three processes (replicator/docs/performance.md,
 * "Binary transfer") and the type matrix is exact in both modes.
 */
function binaryTransfer(opts: SessionOptions): boolean {
  return opts.binary ?? true;
}

/** What every session of a run shares: fixed once the set-up is done. */
export interface SessionContext {
  options: SessionOptions;
  slot: string;
  publication: string;
  schemas: string[];
  log: Logger;
  /** Control connections to the source and the target; a lost one is replaced at the start of the next session. */
  srcCtl: ControlConnection;
  dstCtl: ControlConnection;
  prepared: PreparedRun;
  connections: SessionConnector;
}

/** What carries from one session of a run to the next (owned by runReplicator). */
export interface RunProgress {
  /** End LSN of the last source transaction on the target. */
  appliedEnd: Lsn;
  /** Source transactions applied by the sessions that ended. */
  appliedTxns: number;
  /** The operator's --skip-transaction, until a session committed it. */
  skip: Lsn | null;
  /** Copy a new snapshot first, until a session did. */
  resync: boolean;
  /** Whether the latest session got as far as streaming (then the next reconnect starts over at the first delay). */
  streamed: boolean;
}

export type SessionEnd = 'caught_up' | 'aborted';

/** Run one session: resolves when caught up or stopped, throws when it failed (after closing its connections). */
export async function runSession(s: SessionContext, run: RunProgress): Promise<SessionEnd> {
  const { options: opts, slot, publication, schemas, log, srcCtl, dstCtl } = s;
  const { tables, incarnation, statusIntervalMs, caughtUpAt } = s.prepared;
  // Control connections lost with a database restart are replaced first (a failure here is retried).
  await srcCtl.renew();
  await dstCtl.renew();
  const conns = s.connections.take();
  const { repl, replConnected } = conns;
  let target: pg.Client;
  try {
    target = await conns.target;
  } catch (e) {
    await closeSessionConnections(conns);
    throw e;
  }
  let applier: Applier | null = null;
  let finished: SessionEnd | null = null;
  const timers: NodeJS.Timeout[] = [];
  const finish = (why: SessionEnd) => {
    if (finished) return;
    finished = why;
    applier?.stop();
    void repl.close();
  };
  const onAbort = () => finish('aborted');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  target.on('error', (e) => log.warn('target connection error', { error: e }));
  try {
    const [existing, { rowCheck, tables: targetTables }] = await Promise.all([waitSlotFree(s), conns.targetReady]);
    // Only once the slot is free: a replicator that held it until now was still applying, and a
    // position read before it stopped would stream its last groups again (test/replicator/handover.test.ts).
    const progress = await getProgress(target, slot);
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
      skip: run.skip,
      resync: run.resync,
      binary: binaryTransfer(opts),
    });
    if (copied) run.resync = false;
    run.appliedEnd = startAt;
    repl.start(slot, publication, startAt, statusIntervalMs, binaryTransfer(opts));
    run.streamed = true;
    log.info('streaming', { slot, from: formatLsn(startAt), transfer: binaryTransfer(opts) ? 'binary' : 'text' });
    // Recorded while the source starts decoding (its messages wait in the stream until the applier reads them).
    await setState(dstCtl.client, slot, 'streaming', incarnation);
    applier = new Applier({
      target,
      stream: repl,
      slot,
      appliedEnd: startAt,
      hooks: opts.hooks,
      log,
      maxGroupTxns: opts.maxGroupTxns,
      rowByRow: opts.rowByRow,
      binary: binaryTransfer(opts),
      rowCheck,
      tables: targetTables,
      skipTransaction: run.skip ?? undefined,
      onSkipped: () => {
        run.skip = null; // done: a reconnect must not look for it again
      },
      metrics: opts.metrics,
      onConfirmed: (confirmed, pos) => {
        run.appliedEnd = pos.appliedEnd;
        opts.onProgress?.({ confirmed: formatLsn(confirmed), appliedEnd: formatLsn(pos.appliedEnd), commitTime: pos.commitTime, appliedTxns: run.appliedTxns + (applier?.appliedTxns ?? 0) });
        if (caughtUpAt !== null && confirmed >= caughtUpAt) finish('caught_up');
      },
    });
    if (caughtUpAt !== null) {
      // Ask for keepalives: their position tells when an idle stream has nothing older left.
      timers.push(setInterval(() => repl.confirm(repl.confirmed, true), 200));
    }
    timers.push(setInterval(() => void checkSlot(s), opts.slotCheckIntervalMs ?? 10_000));
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
        if (n !== lastLogged) log.info('replicating', { appliedTxns: run.appliedTxns + n, position: formatLsn(applier!.position.appliedEnd), pending: repl.pending });
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
    run.appliedTxns += applier?.appliedTxns ?? 0;
    await repl.close();
    await target.end().catch(() => undefined);
  }
}

/**
 * The slot's previous consumer (this process before a reconnect, or one that was killed) may
 * still hold it until the source notices the dead connection: wait a while before calling it
 * a second replicator.
 */
async function waitSlotFree(s: SessionContext) {
  const { slot, log, srcCtl } = s;
  const { signal } = s.options;
  const deadline = Date.now() + Math.max(30_000, 2 * s.prepared.senderTimeout);
  for (;;) {
    const info = await slotInfo(srcCtl.client, slot);
    if (!info?.active || Date.now() > deadline || signal?.aborted) return info;
    log.info('the slot is still held by a previous connection; waiting for the source to release it', { slot, pid: info.activePid });
    await abortable(500, signal);
  }
}

async function checkSlot(s: SessionContext): Promise<void> {
  const { slot, log, srcCtl } = s;
  try {
    const info = await slotInfo(srcCtl.client, slot);
    if (!info || info.walStatus === 'lost') {
      log.error('replication slot lost', { slot, walStatus: info?.walStatus ?? 'dropped' });
      return; // the stream fails on its own; the restart then reports slot_lost
    }
    const warnAt = s.options.walWarnBytes ?? 1024 ** 3;
    if (info.retainedBytes !== null && info.retainedBytes > warnAt)
      log.warn('the replication slot retains a lot of WAL on the source', { slot, retainedBytes: info.retainedBytes, threshold: warnAt, walStatus: info.walStatus });
  } catch (e) {
    log.warn('could not check the replication slot', { error: e as Error });
  }
}

/** A session's replication connection and target session, being opened. */
interface SessionConnections {
  repl: ReplicationConnection;
  replConnected: Promise<void>;
  target: Promise<pg.Client>;
  /** The target session made ready: its row-check function installed, the replicated schemas' tables read ahead. */
  targetReady: Promise<{ rowCheck: boolean; tables: TargetTables }>;
}

/**
 * Opens each session's connections. The first session's open at once, while
 * the set-up runs (they take nothing: START_REPLICATION takes the slot).
 */
export class SessionConnector {
  private first: SessionConnections | null;

  constructor(private readonly c: { sourceUrl: string; targetUrl: string; applicationName: string; schemas: string[]; log: Logger; peerTimeoutMs: number }) {
    this.first = this.open();
  }

  /** The connections for the next session (the session closes them). */
  take(): SessionConnections {
    const conns = this.first ?? this.open();
    this.first = null;
    return conns;
  }

  /** Close the first session's connections if no session took them (the set-up failed). */
  async close(): Promise<void> {
    const first = this.first;
    this.first = null;
    if (first) await closeSessionConnections(first);
  }

  private open(): SessionConnections {
    const { sourceUrl, targetUrl, applicationName, schemas, log, peerTimeoutMs } = this.c;
    const repl = new ReplicationConnection({ connectionString: sourceUrl, applicationName, log, peerTimeoutMs });
    const replConnected = repl.connect();
    const target = openTargetClient(targetUrl, 'tandem-replicator', peerTimeoutMs);
    // The target session is idle until the stream starts: what a table's first change would wait for is done
    // now, while the set-up and the slot checks run on the control connections (performance.md, "Start-up").
    const targetReady = target.then(async (client) => {
      const rowCheck = await installRowCheck(client, log);
      const tables = new TargetTables(client);
      await tables.readAhead(schemas);
      return { rowCheck, tables };
    });
    // Awaited by the session (or closed unused); a failure must not go unhandled meanwhile.
    replConnected.catch(() => undefined);
    target.catch(() => undefined);
    targetReady.catch(() => undefined);
    return { repl, replConnected, target, targetReady };
  }
}

async function closeSessionConnections(c: SessionConnections): Promise<void> {
  await c.replConnected.catch(() => undefined);
  await c.repl.close();
  const target = await c.target.catch(() => null);
  await target?.end().catch(() => undefined);
}
