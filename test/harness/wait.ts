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

/**
 * A bounded negative observation, for the "nothing happens for a while" checks
 * where the window itself is what is tested: poll `forbidden` for `windowMs`
 * and fail as soon as it is seen (naming it), rather than sleeping the window
 * and looking once. Say at the call site why the window is long enough.
 */
export async function expectNever(what: string, forbidden: () => Promise<unknown> | unknown, windowMs: number, everyMs = 25): Promise<void> {
  const end = Date.now() + windowMs;
  for (;;) {
    const seen = await forbidden();
    if (seen) throw new Error(`${what} happened within ${windowMs} ms: ${typeof seen === 'object' ? JSON.stringify(seen) : String(seen)}`);
    if (Date.now() >= end) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
