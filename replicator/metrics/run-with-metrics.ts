/**
 * Runs the replicator with its metrics listener around it: the listener and
 * its probe connections start before replication and are closed after it,
 * whatever way it ends. Without `listen` nothing is started (metrics are
 * then not collected at all).
 */
import { EXIT_CODES, TandemError, errorMessage } from '../../server/errors.js';
import type { Logger } from '../../server/log.js';
import { ReplicatorMetrics } from './metrics.js';
import { Probe } from './probe.js';
import { startMetricsServer, type MetricsServer } from './server.js';

export interface ReplicatorMetricsOptions {
  listen: { host: string; port: number } | null;
  sourceUrl: string;
  targetUrl: string;
  slot: string;
  log: Logger;
}

export async function withReplicatorMetrics<T>(o: ReplicatorMetricsOptions, run: (metrics: ReplicatorMetrics | undefined, listener: MetricsServer | undefined) => Promise<T>): Promise<T> {
  if (!o.listen) return run(undefined, undefined);
  const log = o.log.child({ component: 'metrics' });
  const metrics = new ReplicatorMetrics({ slot: o.slot });
  const probe = new Probe({ sourceUrl: o.sourceUrl, targetUrl: o.targetUrl, slot: o.slot, log });
  metrics.attach(probe);
  let server;
  try {
    server = await startMetricsServer({ registry: metrics.registry, host: o.listen.host, port: o.listen.port, log });
  } catch (e) {
    await probe.close();
    throw new TandemError('invalid_config', `metrics.port: cannot listen on ${o.listen.host}:${o.listen.port}: ${errorMessage(e)}`, { field: 'metrics.port', exitCode: EXIT_CODES.setup });
  }
  try {
    return await run(metrics, server);
  } finally {
    await server.close();
    await probe.close();
  }
}
