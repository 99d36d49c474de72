/**
 * Dead-peer detection for the replicator's database connections.
 *
 * A database behind a network that silently drops packets (a "blackhole": a
 * firewall change, a dead router, a frozen VM, a proxy that stops forwarding)
 * never sends a reset: the socket stays open, a query waits for an answer
 * forever, and the replicator would hang instead of reconnecting. TCP itself
 * notices only after many minutes (retransmissions), or never (a proxy that
 * keeps accepting and discarding bytes). So every connection the replicator
 * opens uses a socket that watches the conversation:
 *
 *   the client waits for the server (connecting, or a query in flight) and
 *   nothing was received or sent for `timeoutMs`: the peer is gone.
 *
 * The socket is then destroyed with an `ETIMEDOUT` error, which node-pg
 * reports to the waiting query (or `connect()`), and which the run loop
 * treats as a lost connection: reconnect with backoff. "Nor sent" keeps a
 * long `COPY ... FROM STDIN` (the client writes for minutes, the server
 * answers only at the end) from counting as a silence; an idle connection
 * (no query) is never timed. Whether a query is in flight is node-pg's own
 * state (`watchClient`); a socket without it falls back to "sent something
 * and received nothing since", which misses an answer cut off half-way. A statement that legitimately
 * runs longer than the timeout (a lock wait on the target) is cut and
 * retried, and logged as such.
 *
 * The replication stream is watched in addition by stream/connection.ts,
 * which asks the server for a keepalive with every status update and fails
 * when nothing arrives for `timeoutMs` (the server's data comes unasked).
 *
 * With TLS, node's TLS socket reads and writes the raw socket's handle
 * directly and this watch sees nothing; the stream-level timeout still holds
 * for the replication stream, and TCP keepalive (enabled here) for the rest.
 */
import net from 'node:net';

/** Default for `ReplicatorOptions.peerTimeoutMs` (PostgreSQL's own wal_receiver_timeout is 60 s too). */
export const DEFAULT_PEER_TIMEOUT_MS = 60_000;

export class PeerTimeoutError extends Error {
  /** A socket error code: server/db/sqlstate.ts classifies it as an unreachable database (retried). */
  readonly code = 'ETIMEDOUT';
  constructor(label: string, ms: number) {
    super(`${label} did not answer for ${Math.round(ms / 1000)} s: connection given up (network down, or a firewall dropping packets?)`);
  }
}

class WatchedSocket extends net.Socket {
  private lastWrite = 0;
  private lastRead = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Whether the client waits for the server (set by watchClient). */
  busy: (() => boolean) | null = null;

  constructor(
    private readonly label: string,
    private readonly timeoutMs: number,
  ) {
    super();
    this.on('data', () => {
      this.lastRead = Date.now();
    });
    this.once('connect', () => this.setKeepAlive(true, Math.min(timeoutMs, 30_000)));
    this.once('close', () => this.stopTimer());
  }

  // The stream implementer's hooks (net.Socket's own write() is reset to the base one on connect).
  override _write(chunk: unknown, encoding: BufferEncoding, cb: (error?: Error | null) => void): void {
    this.wrote();
    super._write(chunk, encoding, cb);
  }

  override _writev(chunks: Array<{ chunk: unknown; encoding: BufferEncoding }>, cb: (error?: Error | null) => void): void {
    this.wrote();
    super._writev!(chunks, cb);
  }

  private wrote(): void {
    this.lastWrite = Date.now();
    if (!this.timer && this.timeoutMs > 0) {
      this.timer = setInterval(() => this.check(), Math.max(100, Math.floor(this.timeoutMs / 4)));
      this.timer.unref();
    }
  }

  private check(): void {
    const now = Date.now();
    // Reading is paused by the client's flow control: what the peer sent waits in the kernel, unread.
    if (this.isPaused()) return;
    let since: number;
    if (this.busy) {
      // Waiting for the server, and the conversation has stopped both ways.
      if (!this.busy()) return;
      since = Math.max(this.lastRead, this.lastWrite);
    } else {
      // Nothing unanswered: idle, or the answer came.
      if (this.lastRead >= this.lastWrite) return;
      since = this.lastWrite;
    }
    if (now - since < this.timeoutMs) return;
    this.stopTimer();
    this.destroy(new PeerTimeoutError(this.label, now - since));
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

/** node-pg's state (8.x internals, checked by test/replicator/network-faults.test.ts): connecting, or queries sent or queued. */
interface PgClientState {
  connection?: { stream?: unknown };
  _connecting?: boolean;
  _getActiveQuery?: () => unknown;
  _sentQueryQueue?: unknown[];
  _queryQueue?: unknown[];
}

/**
 * Time a client made with `peerTimeoutStream` only while it waits for the server: connecting, or a query in
 * flight or queued (an answer cut off half-way is then noticed too). Call right after `new pg.Client(...)`.
 */
export function watchClient<C extends object>(client: C): C {
  const c = client as PgClientState;
  const socket = c.connection?.stream;
  if (socket instanceof WatchedSocket)
    socket.busy = () => !!c._connecting || !!c._getActiveQuery?.() || (c._sentQueryQueue?.length ?? 0) > 0 || (c._queryQueue?.length ?? 0) > 0;
  return client;
}

/**
 * A node-pg `stream` option: `new pg.Client({ ..., stream: peerTimeoutStream('the target', 60_000) })`.
 * `timeoutMs` 0 turns the watch off (TCP keepalive stays).
 */
export function peerTimeoutStream(label: string, timeoutMs: number): () => net.Socket {
  return () => new WatchedSocket(label, timeoutMs);
}
