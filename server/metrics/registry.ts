/**
 * One Prometheus registry per process (never prom-client's global one), so
 * that two job servers or a job server and a replicator started in the same
 * test process each expose only their own figures.
 */
import client from 'prom-client';

export type Registry = client.Registry;

/** A fresh registry with the standard process and Node.js metrics (`process_*`, `nodejs_*`). */
export function createRegistry(defaultLabels: Record<string, string> = {}): Registry {
  const registry = new client.Registry();
  if (Object.keys(defaultLabels).length) registry.setDefaultLabels(defaultLabels);
  client.collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Latency buckets in seconds, from 5 ms to 30 s: wide enough for an HTTP
 * request, an LDAP bind or an apply batch, few enough to keep series low.
 */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Delay buckets in seconds for schedules (a firing is normally well under a second late). */
export const DELAY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

/** Seconds since `start` (a `process.hrtime.bigint()` value). */
export function secondsSince(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e9;
}
