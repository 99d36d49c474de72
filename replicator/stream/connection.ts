/**
 * A logical replication connection to the source, written directly on
 * node-pg's replication mode instead of pg-logical-replication's service,
 * because each of that service's defaults loses data here (the measurements:
 * replicator/docs/stream-client.md; when changing this, read it):
 *
 * - it never acknowledges on its own: the applier calls `confirm(lsn)` with the
 *   exact end LSN of the last transaction committed on the target, and every
 *   status update (periodic, or as a reply to a keepalive) sends exactly that;
 * - the server's messages are framed here, below node-pg (framing.ts): each
 *   CopyData payload comes straight to the decoder, the rest goes on to node-pg;
 * - messages are decoded (raw text values) and queued in arrival order; the
 *   socket is paused when the queue is long, so a fast source cannot fill memory
 *   while the applier works (flow control without an unbounded backlog);
 * - any connection error ends the stream: `next()` throws it and the caller
 *   reconnects from its own bookkeeping, it never skips ahead.
 */
import pg from 'pg';
import type { Logger } from '../../server/log.js';
import { formatLsn, parseLsn, type Lsn, ZERO_LSN } from '../lsn.js';
import { CopyRowArena } from './copy-rows.js';
import { CopyDataFraming } from './framing.js';
import { decodePgoutput, dateToPgMicros, type PgoutputMessage } from './pgoutput.js';
import { DEFAULT_PEER_TIMEOUT_MS, PeerTimeoutError, peerTimeoutStream, watchClient } from '../setup/peer-timeout.js';

export type StreamItem =
  | { kind: 'data'; msg: PgoutputMessage }
  /** A keepalive: the server has sent everything up to `walEnd`. */
  | { kind: 'keepalive'; walEnd: Lsn };

/**
 * Session settings of every connection the replicator makes to the source,
 * so that values are printed in a form any target parses back to the same
 * value, whatever the servers' own defaults (as PostgreSQL's apply worker does).
 */
export const SOURCE_SESSION_OPTIONS =
  '-c datestyle=ISO -c intervalstyle=postgres -c extra_float_digits=3 -c timezone=UTC -c bytea_output=hex ' +
  // money prints with the session's lc_monetary; xml input depends on xmloption (see replicator/README.md, "Session settings").
  '-c lc_monetary=C -c xmloption=content ' +
  // In synchronous mode the replicator is the standby commits wait for: its own commits on the
  // source (creating the publication, ...) must not wait for itself.
  '-c synchronous_commit=local';

export interface ReplicationConnectionOptions {
  connectionString: string;
  applicationName: string;
  log: Logger;
  /**
   * Pause reading from the socket when this many decoded messages wait (default 2000), or when the waiting
   * messages came in this many bytes (`highWaterBytes`, default 2 MiB); resume below half of both. Kept small
   * on purpose: what waits here (and in the applier's batches) survives the young-generation collections and
   * is promoted to the old generation; 5,000 messages and 5,000-row batches made a 1,000,000-row
   * transaction peak at 168 MB RSS instead of ~100 MB (replicator/docs/performance.md, "Memory").
   */
  highWater?: number;
  highWaterBytes?: number;
  /**
   * Give the connection up when the source sends nothing for this long while streaming (default 60 s;
   * 0: never). Each status update asks for a keepalive, so a live source always sends something.
   */
  peerTimeoutMs?: number;
}

interface Waiter {
  resolve(): void;
}

export class ReplicationConnection {
  private readonly client: pg.Client;
  private readonly log: Logger;
  private readonly queue: StreamItem[] = [];
  /** Size in bytes of each queued message as received (parallel to `queue`). */
  private readonly sizes: number[] = [];
  private queuedBytes = 0;
  private head = 0;
  private waiter: Waiter | null = null;
  private failure: Error | null = null;
  private paused = false;
  private readonly highWater: number;
  private readonly highWaterBytes: number;
  private statusTimer: NodeJS.Timeout | null = null;
  private confirmedLsn: Lsn = ZERO_LSN;
  private closed = false;
  private streaming = false;
  private readonly peerTimeoutMs: number;
  private lastReceived = 0;
  /** With binary transfer: where inserts are kept as COPY rows (copy-rows.ts). */
  private arena: CopyRowArena | undefined;
  /** Frames the server's messages below node-pg: CopyData payloads come to onCopyData from it (framing.ts). */
  private readonly framing: CopyDataFraming;

  constructor(opts: ReplicationConnectionOptions) {
    this.log = opts.log;
    this.highWater = opts.highWater ?? 2000;
    this.highWaterBytes = opts.highWaterBytes ?? 2 * 1024 * 1024;
    this.peerTimeoutMs = opts.peerTimeoutMs ?? DEFAULT_PEER_TIMEOUT_MS;
    this.client = new pg.Client({
      connectionString: opts.connectionString,
      replication: 'database',
      application_name: opts.applicationName,
      options: SOURCE_SESSION_OPTIONS,
      // A source that stops answering a command (connect, CREATE_REPLICATION_SLOT) is given up (setup/peer-timeout.ts).
      stream: peerTimeoutStream('the source (replication connection)', this.peerTimeoutMs),
    } as pg.ClientConfig);
    watchClient(this.client);
    this.client.on('error', (e) => this.fail(e));
    this.framing = new CopyDataFraming(
      (this.client as unknown as { connection: unknown }).connection,
      (buf, start, end) => this.onCopyData(buf, start, end),
      (e) => this.fail(e),
    );
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }

  /** A simple-protocol command on the replication connection (no parameters). */
  async command<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string): Promise<R[]> {
    const res = await this.client.query<R>(sql);
    return res.rows;
  }

  /**
   * CREATE_REPLICATION_SLOT with an exported snapshot. The snapshot stays
   * valid only while this connection runs nothing else: any other command,
   * or closing it, ends the snapshot ("invalid snapshot identifier").
   * When changing this, read replicator/docs/initial-copy.md.
   */
  async createSlot(slot: string): Promise<{ consistentPoint: Lsn; snapshotName: string }> {
    const rows = await this.command<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT ${quoteIdent(slot)} LOGICAL pgoutput (SNAPSHOT 'export')`,
    );
    const row = rows[0]!;
    return { consistentPoint: parseLsn(row.consistent_point), snapshotName: row.snapshot_name };
  }

  /** Start streaming; decoded messages are then read with `next()`. `binary`: binary transfer (pgoutput.ts). */
  start(slot: string, publication: string, from: Lsn, statusIntervalMs: number, binary = false): void {
    this.confirmedLsn = from;
    if (binary) this.arena = new CopyRowArena();
    this.framing.interceptCopyData();
    const sql =
      `START_REPLICATION SLOT ${quoteIdent(slot)} LOGICAL ${formatLsn(from)} ` +
      `(proto_version '1', publication_names ${quoteLiteral(quoteIdent(publication))}${binary ? ", binary 'true'" : ''})`;
    this.streaming = true;
    this.client.query(sql).then(
      () => this.fail(new Error('the source ended the replication stream')),
      (e: Error) => this.fail(e),
    );
    this.lastReceived = Date.now();
    // Every periodic status update asks for a keepalive: a source that answers nothing for peerTimeoutMs is
    // gone (a dropped network sends no reset), and the stream fails instead of waiting forever.
    this.statusTimer = setInterval(() => {
      const silentMs = Date.now() - this.lastReceived;
      if (this.peerTimeoutMs > 0 && !this.paused && silentMs >= this.peerTimeoutMs) {
        const e = new PeerTimeoutError('the source (replication stream)', silentMs);
        this.fail(e);
        (this.client as unknown as { connection: ConnectionInternals }).connection.stream.destroy(e);
        return;
      }
      this.sendStatus(this.peerTimeoutMs > 0);
    }, this.peerTimeoutMs > 0 ? Math.min(statusIntervalMs, Math.max(100, Math.floor(this.peerTimeoutMs / 3))) : statusIntervalMs);
    this.statusTimer.unref();
  }

  /**
   * Record that everything up to `lsn` is committed on the target; reported to the source from now on.
   * The only way a position reaches the source: when changing this, read replicator/docs/durability-order.md.
   */
  confirm(lsn: Lsn, reply = false): void {
    if (lsn > this.confirmedLsn) this.confirmedLsn = lsn;
    this.sendStatus(reply);
  }

  get confirmed(): Lsn {
    return this.confirmedLsn;
  }

  /** Messages decoded but not yet taken by the applier. */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** The next message if one was already received (no waiting), else undefined. */
  take(): StreamItem | undefined {
    if (this.head >= this.queue.length) return undefined;
    const item = this.queue[this.head]!;
    this.queue[this.head] = undefined as unknown as StreamItem;
    this.queuedBytes -= this.sizes[this.head]!;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.sizes.splice(0, this.head);
      this.head = 0;
    }
    if (this.paused && this.pending < this.highWater / 2 && this.queuedBytes < this.highWaterBytes / 2) this.resume();
    return item;
  }

  /** The next message, in order; throws the stream's error once it failed. */
  async next(): Promise<StreamItem> {
    for (;;) {
      const item = this.take();
      if (item) return item;
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiter = { resolve }));
    }
  }

  /** Resolves once a message is waiting or the stream failed; takes nothing (the applier races it with its commit). */
  async ready(): Promise<void> {
    if (this.head < this.queue.length || this.failure) return;
    await new Promise<void>((resolve) => (this.waiter = { resolve }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.statusTimer) clearInterval(this.statusTimer);
    this.fail(new Error('replication connection closed'));
    try {
      await this.client.end();
    } catch (e) {
      this.log.debug('closing the replication connection', { error: e as Error });
    }
  }

  private onCopyData(buf: Buffer, start: number, end: number): void {
    this.lastReceived = Date.now();
    if (this.failure) return;
    try {
      const m = decodeCopyData(buf, start, end, this.arena);
      if (m.kind === 'data') this.push(m, end - start);
      else {
        // Answered at once with what the target has committed, never the received position: unanswered, the
        // server drops the connection at wal_sender_timeout (when changing this, read replicator/docs/lsn-handling.md).
        if (m.replyRequested) this.sendStatus(false);
        this.push({ kind: 'keepalive', walEnd: m.walEnd }, end - start);
      }
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private push(item: StreamItem, bytes: number): void {
    this.queue.push(item);
    this.sizes.push(bytes);
    this.queuedBytes += bytes;
    if (!this.paused && (this.pending >= this.highWater || this.queuedBytes >= this.highWaterBytes)) this.pause();
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.resolve();
    }
  }

  private pause(): void {
    this.paused = true;
    (this.client as unknown as { connection: ConnectionInternals }).connection.stream.pause();
  }

  private resume(): void {
    this.paused = false;
    // The silence while paused was ours: time the source again from now.
    this.lastReceived = Date.now();
    (this.client as unknown as { connection: ConnectionInternals }).connection.stream.resume();
  }

  private fail(e: Error): void {
    if (!this.failure) this.failure = e;
    if (this.statusTimer) {
      clearInterval(this.statusTimer);
      this.statusTimer = null;
    }
    const w = this.waiter;
    if (w) {
      this.waiter = null;
      w.resolve();
    }
  }

  /**
   * Standby status update: written = flushed = applied = the confirmed LSN, exactly; one more can lose
   * the next transaction for good. When changing this, read replicator/docs/lsn-handling.md.
   */
  private sendStatus(reply: boolean): void {
    if (!this.streaming || this.failure || this.closed) return;
    const buf = Buffer.alloc(34);
    buf[0] = 0x72; // 'r'
    buf.writeBigUInt64BE(this.confirmedLsn, 1);
    buf.writeBigUInt64BE(this.confirmedLsn, 9);
    buf.writeBigUInt64BE(this.confirmedLsn, 17);
    buf.writeBigInt64BE(dateToPgMicros(Date.now()), 25);
    buf[33] = reply ? 1 : 0;
    try {
      (this.client as unknown as { connection: ConnectionInternals }).connection.sendCopyFromChunk(buf);
    } catch (e) {
      this.fail(e as Error);
    }
  }
}

/** One CopyData payload of the replication stream, as the server sent it. */
export type ReplicationMessage =
  | { kind: 'data'; msg: PgoutputMessage }
  | { kind: 'keepalive'; walEnd: Lsn; replyRequested: boolean };

/**
 * Decode one CopyData payload, bytes `start` to `end` of `buf`: XLogData ('w':
 * walStart(8) walEnd(8) sendTime(8) pgoutput message) or a primary keepalive
 * ('k': walEnd(8) sendTime(8) replyRequested(1)). The framer (framing.ts) has
 * already put the CopyData message back together from however the socket split
 * it; `buf` may hold other messages around it, and nothing past `end` is read. Decode
 * at once and keep no view of `buf`: it is the socket's or the framer's memory
 * (test/replicator/pgoutput.test.ts); the decoded values are strings or COPY
 * rows in `arena`, copies of the bytes. An XLogData's walStart is not read: the
 * positions that matter are in the pgoutput messages (lsn-handling.md).
 */
export function decodeCopyData(buf: Buffer, start: number, end: number, arena?: CopyRowArena): ReplicationMessage {
  const type = start < end ? buf[start] : undefined;
  const bytes = end - start;
  if (type === 0x77) {
    if (bytes < 25) throw new Error(`replication XLogData message of ${bytes} bytes is shorter than its 25-byte header`);
    return { kind: 'data', msg: decodePgoutput(buf, start + 25, end, arena) };
  }
  if (type === 0x6b) {
    if (bytes < 18) throw new Error(`replication keepalive of ${bytes} bytes is shorter than 18`);
    return { kind: 'keepalive', walEnd: buf.readBigUInt64BE(start + 1) as Lsn, replyRequested: buf[start + 17] === 1 };
  }
  throw new Error(`unknown replication message 0x${type?.toString(16)}`);
}

interface ConnectionInternals {
  sendCopyFromChunk(buf: Buffer): void;
  stream: { pause(): void; resume(): void; destroy(e?: Error): void };
}

export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

export function quoteLiteral(text: string): string {
  return "'" + text.replace(/'/g, "''") + "'";
}
