/**
 * Throttling of failed logins (keyed by the caller: per user name and client
 * address, per client address, per user name; see login.ts), in the
 * memory of one server process (state of this site only; it does not need
 * to survive a restart or a failover). After `maxFailures` failures inside
 * `window`, further attempts are refused for a delay that doubles with each
 * further failure, capped at `maxBlock`: an attacker is slowed down, and a
 * real user is never locked out for longer than `maxBlock`. A successful
 * login clears the user's record.
 */
export interface ThrottleOptions {
  maxFailures: number;
  windowMs: number;
  baseBlockMs: number;
  maxBlockMs: number;
  /** Bound on remembered keys, so a flood of random user names cannot exhaust memory. */
  maxKeys?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  firstAt: number;
  blockedUntil: number;
  /** Refused attempts not yet written to the audit trail, and when the last row was written. */
  refused: number;
  auditedAt: number;
}

export class Throttle {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(private readonly o: ThrottleOptions) {
    this.now = o.now ?? Date.now;
    this.maxKeys = o.maxKeys ?? 100_000;
  }

  /** Milliseconds the key must still wait (0 = may try now). */
  retryAfterMs(key: string): number {
    const e = this.live(key);
    return e ? Math.max(0, e.blockedUntil - this.now()) : 0;
  }

  fail(key: string): void {
    const now = this.now();
    let e = this.live(key);
    if (!e) {
      if (this.entries.size >= this.maxKeys) {
        // Maps iterate in insertion order: drop the oldest record.
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
      e = { failures: 0, firstAt: now, blockedUntil: 0, refused: 0, auditedAt: 0 };
      this.entries.set(key, e);
    }
    e.failures++;
    if (e.failures >= this.o.maxFailures) {
      const block = Math.min(this.o.maxBlockMs, this.o.baseBlockMs * 2 ** (e.failures - this.o.maxFailures));
      e.blockedUntil = now + block;
    }
  }

  /**
   * Count an attempt refused because `key` is blocked. Returns how many
   * refused attempts an audit row should record now (the first refusal, and
   * then once per window), else 0: a flood of blocked attempts writes one
   * aggregated row per window into the append-only audit table, not one each.
   */
  refused(key: string): number {
    const e = this.live(key);
    if (!e) return 1;
    e.refused++;
    const now = this.now();
    if (e.auditedAt !== 0 && now - e.auditedAt < this.o.windowMs) return 0;
    const n = e.refused;
    e.refused = 0;
    e.auditedAt = now;
    return n;
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }

  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    const now = this.now();
    // Forget a record once its window is over and it no longer blocks.
    if (now - e.firstAt > this.o.windowMs && now >= e.blockedUntil) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }
}
