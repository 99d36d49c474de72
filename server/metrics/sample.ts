/**
 * Figures read from the database at scrape time. Several gauges need the
 * same reading, and prom-client collects them concurrently: the first one
 * starts the reading and the others share it (it is reused for `ttlMs`, so
 * one scrape costs one round of queries however many gauges use it).
 */
export class SharedSample<T> {
  private current: { at: number; value: Promise<T> } | null = null;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly ttlMs = 500,
  ) {}

  get(): Promise<T> {
    const now = Date.now();
    if (!this.current || now - this.current.at > this.ttlMs) this.current = { at: now, value: this.read() };
    return this.current.value;
  }
}
