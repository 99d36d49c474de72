/**
 * Figures read from the database at scrape time. Several gauges need the
 * same reading, and prom-client collects them concurrently: the first one
 * starts the reading and the others join it while it is in flight. A later
 * scrape always reads afresh (no cached, stale figures), so one scrape costs
 * one round of queries however many gauges use it.
 */
export class SharedSample<T> {
  private inFlight: Promise<T> | null = null;

  constructor(private readonly read: () => Promise<T>) {}

  get(): Promise<T> {
    if (!this.inFlight) {
      this.inFlight = this.read().finally(() => {
        // Released after the current tick, so the gauges collected in this scrape still join it.
        setImmediate(() => (this.inFlight = null));
      });
    }
    return this.inFlight;
  }
}
