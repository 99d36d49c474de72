/**
 * startTcpProxy(t, port): a TCP proxy on a free loopback port in front of a
 * server (a test PostgreSQL), for network faults between a client and it:
 *
 * - `blackhole()`: every byte in both directions, of open and of new
 *   connections, is swallowed, and closes are not passed on: like a network
 *   that drops packets (no reset ever reaches either side). `heal()` ends it:
 *   new connections work again, and the connections that lived through the
 *   blackhole are reset on both sides (as TCP does when the network comes
 *   back and a peer answers an old connection's retransmission with a reset).
 * - `delay(ms)`: every chunk is held `ms` before it is passed on, in order.
 * - `resetAll()`: every open connection is reset (RST) on both sides.
 *
 * Closed in the test's teardown.
 */
import net from 'node:net';
import type { Teardown } from './tmp.js';

export interface TcpProxy {
  readonly port: number;
  /** `url` with its port replaced by the proxy's. */
  via(url: string): string;
  blackhole(): void;
  heal(): void;
  delay(ms: number): void;
  /** Reset every open connection; returns how many. */
  resetAll(): number;
  /** Connections accepted so far, and open now. */
  readonly accepted: number;
  readonly open: number;
  close(): Promise<void>;
}

interface Pipe {
  client: net.Socket;
  upstream: net.Socket;
  /** Lived through a blackhole: its bytes were lost, so it is reset at heal. */
  poisoned: boolean;
}

export async function startTcpProxy(t: Teardown, upstreamPort: number, upstreamHost = '127.0.0.1'): Promise<TcpProxy> {
  const pipes = new Set<Pipe>();
  let holed = false;
  let delayMs = 0;
  let accepted = 0;

  const destroyPipe = (p: Pipe) => {
    pipes.delete(p);
    p.client.resetAndDestroy();
    p.upstream.resetAndDestroy();
  };

  /** Forward `from` -> `to`, honouring blackhole and delay; one queue per direction keeps the order. */
  const forward = (p: Pipe, from: net.Socket, to: net.Socket) => {
    const queue: Array<{ at: number; chunk: Buffer }> = [];
    let timer: NodeJS.Timeout | null = null;
    const drain = () => {
      timer = null;
      while (queue.length && queue[0]!.at <= Date.now()) {
        const { chunk } = queue.shift()!;
        if (!p.poisoned && !to.destroyed) to.write(chunk);
      }
      if (queue.length) timer = setTimeout(drain, queue[0]!.at - Date.now());
    };
    from.on('data', (chunk: Buffer) => {
      if (holed || p.poisoned) return;
      if (delayMs <= 0 && !queue.length) {
        to.write(chunk);
        return;
      }
      queue.push({ at: Date.now() + delayMs, chunk });
      timer ??= setTimeout(drain, Math.max(0, queue[0]!.at - Date.now()));
    });
    const releaseAt = () => (queue.length ? queue[queue.length - 1]!.at : 0);
    const passClose = () => {
      // A dropped network carries no close: the other side learns of it only at heal (reset) or by its own timeout.
      if (holed || p.poisoned) return;
      pipes.delete(p);
      setTimeout(() => to.destroy(), Math.max(0, releaseAt() - Date.now()));
    };
    from.on('end', passClose);
    from.on('close', passClose);
    from.on('error', () => undefined);
  };

  const server = net.createServer((client) => {
    accepted++;
    const upstream = new net.Socket();
    const p: Pipe = { client, upstream, poisoned: holed };
    pipes.add(p);
    upstream.on('error', () => undefined);
    client.on('error', () => undefined);
    // Even during a blackhole the upstream connection is made (it carries nothing until heal resets it).
    upstream.connect(upstreamPort, upstreamHost);
    forward(p, client, upstream);
    forward(p, upstream, client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const proxy: TcpProxy = {
    port,
    via(url: string) {
      const u = new URL(url);
      u.port = String(port);
      return u.toString();
    },
    blackhole() {
      holed = true;
      for (const p of pipes) p.poisoned = true;
    },
    heal() {
      holed = false;
      for (const p of [...pipes]) if (p.poisoned) destroyPipe(p);
    },
    delay(ms: number) {
      delayMs = ms;
    },
    resetAll() {
      const n = pipes.size;
      for (const p of [...pipes]) destroyPipe(p);
      return n;
    },
    get accepted() {
      return accepted;
    },
    get open() {
      return pipes.size;
    },
    async close() {
      for (const p of [...pipes]) destroyPipe(p);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  t.teardown(() => proxy.close());
  return proxy;
}
