/**
 * The replication connection's own framing of the server's messages, below
 * node-pg. While streaming, nearly every message is a CopyData ('d') holding
 * one XLogData or keepalive; node-pg's parser turned each into a message
 * object and a view of the bytes and emitted it twice (a 'message' of the
 * parser, a 'copyData' event of the connection): about 40 ms of the Tandem
 * process's CPU per 200,000 rows of a bulk catch-up, the largest single cost
 * left after inserts became COPY rows (replicator/docs/performance.md,
 * "Framing the stream below node-pg").
 *
 * The framer takes the socket's bytes before node-pg's parser (it replaces
 * the parser's 'data' listener, calling it in turn), splits them into whole
 * messages, and once streaming starts hands each CopyData payload straight to
 * the stream's decoder; every other message (the replies to commands,
 * CopyBothResponse, ErrorResponse, CopyDone, notices) goes on to node-pg, whole
 * and in order, so node-pg's own state (the running command, errors) is kept
 * exactly as before. Bytes of a message that arrived in pieces are held here
 * until it is whole; node-pg's parser therefore never holds part of a message,
 * and the switch to streaming falls on a message boundary. The framer is
 * attached where node-pg attaches its parser (Connection.attachListeners): to
 * the socket, or, with TLS, to the TLS socket, before either delivers a byte.
 */

/** Called with a whole message's bytes for node-pg's parser. */
type PgParse = (bytes: Buffer) => void;
/**
 * Called with a CopyData payload: bytes `start` to `end` of `buf`, valid only during the call (decode at once).
 * Offsets, not a view: a subarray per message was ~5 % of the Tandem process's CPU in a bulk catch-up
 * (a Buffer object each, and garbage; replicator/docs/performance.md, "Framing the stream below node-pg").
 */
export type CopyDataHandler = (buf: Buffer, start: number, end: number) => void;

const COPY_DATA = 0x64; // 'd'
/** Type byte and 32-bit length (which counts itself, not the type byte). */
const HEADER = 5;

/** Bytes of the whole message whose header is at `pos` (type byte included); throws on a length no message can have. */
function messageBytes(buf: Buffer, pos: number): number {
  const length = buf.readUInt32BE(pos + 1);
  if (length < HEADER - 1) throw new Error(`the source sent a message of impossible length ${length}`);
  return 1 + length;
}

export class CopyDataFramer {
  private intercepting = false;
  /** A message that arrived in pieces: its bytes so far (sized to the whole message once the header is known). */
  private held: Buffer | null = null;
  private heldBytes = 0;

  constructor(
    private readonly pgParse: PgParse,
    private readonly onCopyData: CopyDataHandler,
  ) {}

  /** From the next message on, CopyData payloads go to the handler instead of node-pg (called as START_REPLICATION is sent). */
  interceptCopyData(): void {
    this.intercepting = true;
  }

  /** Bytes as the socket delivered them. */
  feed(chunk: Buffer): void {
    let pos = 0;
    if (this.held) {
      pos = this.fillHeld(chunk);
      if (this.held) return; // still incomplete: the whole chunk went into it
    }
    // Messages not intercepted are passed on in runs: [runStart, pos) of `chunk`.
    let runStart = pos;
    while (chunk.length - pos >= HEADER) {
      const total = messageBytes(chunk, pos);
      if (pos + total > chunk.length) break;
      if (this.intercepting && chunk[pos] === COPY_DATA) {
        if (runStart < pos) this.pgParse(chunk.subarray(runStart, pos));
        this.onCopyData(chunk, pos + HEADER, pos + total);
        runStart = pos + total;
      }
      pos += total;
    }
    if (runStart < pos) this.pgParse(chunk.subarray(runStart, pos));
    if (pos < chunk.length) this.hold(chunk.subarray(pos));
  }

  /** Start holding the incomplete message that ends a chunk (a copy: the socket's buffer is not ours to keep). */
  private hold(rest: Buffer): void {
    const size = rest.length >= HEADER ? messageBytes(rest, 0) : HEADER;
    this.held = Buffer.allocUnsafe(Math.max(size, rest.length));
    this.heldBytes = rest.copy(this.held, 0);
  }

  /** Complete the held message from `chunk`; dispatch it when whole. Returns where the rest of `chunk` starts. */
  private fillHeld(chunk: Buffer): number {
    let held = this.held!;
    let pos = 0;
    if (this.heldBytes < HEADER) {
      // The header itself was cut: complete it, then size the buffer to the whole message.
      const n = Math.min(HEADER - this.heldBytes, chunk.length);
      pos = chunk.copy(held, this.heldBytes, 0, n);
      this.heldBytes += n;
      if (this.heldBytes < HEADER) return chunk.length;
      const total = messageBytes(held, 0);
      const whole = Buffer.allocUnsafe(total);
      held.copy(whole, 0, 0, HEADER);
      this.held = held = whole;
    }
    const n = Math.min(held.length - this.heldBytes, chunk.length - pos);
    chunk.copy(held, this.heldBytes, pos, pos + n);
    this.heldBytes += n;
    pos += n;
    if (this.heldBytes < held.length) return chunk.length;
    this.held = null;
    if (this.intercepting && held[0] === COPY_DATA) this.onCopyData(held, HEADER, held.length);
    else this.pgParse(held);
    return pos;
  }
}

/** What of node-pg's Connection (8.x internals) the framer is attached through. */
interface AttachingConnection {
  attachListeners(stream: NodeJS.EventEmitter): void;
}

/**
 * A framer in front of node-pg's parser on `connection` (a `pg.Client`'s
 * `connection`), attached when the client connects: create it before
 * `connect()`. `onError` gets what the framer or the handler threw (an error
 * thrown in a socket's 'data' listener would otherwise end the process); the
 * socket is then destroyed with it.
 */
export class CopyDataFraming {
  private framer: CopyDataFramer | null = null;

  constructor(connection: unknown, onCopyData: CopyDataHandler, onError: (e: Error) => void) {
    const con = connection as AttachingConnection;
    const attach = con.attachListeners.bind(con);
    con.attachListeners = (stream) => {
      const before = new Set(stream.listeners('data'));
      attach(stream);
      const added = stream.listeners('data').filter((l) => !before.has(l));
      if (added.length !== 1) throw new Error(`node-pg attached ${added.length} 'data' listeners where the replication framing expects its parser alone`);
      const pgListener = added[0] as PgParse;
      stream.removeListener('data', pgListener);
      const framer = new CopyDataFramer(pgListener, onCopyData);
      this.framer = framer;
      stream.on('data', (chunk: Buffer) => {
        try {
          framer.feed(chunk);
        } catch (e) {
          onError(e as Error);
          (stream as unknown as { destroy(e?: Error): void }).destroy(e as Error);
        }
      });
    };
  }

  /** See CopyDataFramer.interceptCopyData; the client must be connected. */
  interceptCopyData(): void {
    if (!this.framer) throw new Error('the replication connection is not connected: nothing to intercept');
    this.framer.interceptCopyData();
  }
}
