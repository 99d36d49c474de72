/**
 * Running a database operation again when its connection turned out to be
 * dead. A role change ends every idle job-server session at once
 * (terminateAppSessions), and a pool only learns that a pooled session is
 * gone when it reads the server's goodbye from its socket. Several dead
 * sessions can still sit in the pool when the first failure is seen, so a
 * fixed number of attempts is not enough: a burst of retries may draw one
 * dead session after another. Retrying instead until a deadline, yielding
 * to pending I/O first (setImmediate: the pool then drops every session
 * whose goodbye has arrived) and backing off after that, always reaches a
 * live session. Only ended sessions are retried (isSessionEnded in tx.ts):
 * a database that refuses connections fails the operation at once.
 *
 * Only for operations that are safe to run again after a lost connection:
 * a single statement (a terminated session ran none of it) or a transaction
 * that died before `commit` was sent (the server rolled it back).
 */
const setImmediateP = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface LostConnectionRetry {
  /** Give up (rethrow the last error) once this long has passed since the first attempt. */
  deadlineMs: number;
}

export const defaultLostConnectionRetry: LostConnectionRetry = { deadlineMs: 2_000 };

export async function retryLostConnection<T>(
  run: () => Promise<T>,
  /** True for a failure that is safe and useful to retry. */
  retryable: (e: unknown) => boolean,
  policy: LostConnectionRetry = defaultLostConnectionRetry,
): Promise<T> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (!retryable(e) || Date.now() - started >= policy.deadlineMs) throw e;
      // First yield to I/O already pending (other dead sessions' goodbyes), then back off: 10, 20, 40 … 200 ms.
      if (attempt <= 3) await setImmediateP();
      else await sleep(Math.min(200, 10 * 2 ** (attempt - 4)));
    }
  }
}
