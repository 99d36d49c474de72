import { connect } from 'node:net';

/**
 * The one way tests wait: poll `check` until it returns a truthy value (which
 * is returned) or the deadline passes, then fail naming what was awaited.
 * Tests never sleep on a guess; they wait on a condition.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Resolve once a TCP connection to 127.0.0.1:port succeeds (a server the harness started is listening). */
export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const connects = () =>
    new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        s.destroy();
        resolve(false);
      });
    });
  await waitFor(`a listener on 127.0.0.1:${port}`, connects, timeoutMs, 10);
}
