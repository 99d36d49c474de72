/**
 * The metrics of one job server process: one registry, one module per
 * component. The composition root (server/app/job-server.ts) creates it and
 * passes the parts through the components' options; nothing reaches it
 * through a global.
 */
import type { Logger } from '../log.js';
import { AuthMetrics } from './auth.js';
import { ExecutionMetrics } from './executions.js';
import { HttpMetrics } from './http.js';
import { LogMetrics } from './logs.js';
import { createRegistry, type Registry } from './registry.js';
import { SiteMetrics } from './site.js';

export interface JobServerMetrics {
  readonly registry: Registry;
  readonly http: HttpMetrics;
  readonly executions: ExecutionMetrics;
  readonly logs: LogMetrics;
  readonly auth: AuthMetrics;
  readonly site: SiteMetrics;
}

/** `running`: the engine's count of running executions, read at scrape time. */
export function createJobServerMetrics(o: { log: Logger; member: string; running: () => number }): JobServerMetrics {
  const registry = createRegistry({ member: o.member });
  return {
    registry,
    http: new HttpMetrics(registry),
    executions: new ExecutionMetrics(registry, o.running),
    logs: new LogMetrics(registry),
    auth: new AuthMetrics(registry),
    site: new SiteMetrics(registry, o.log.child({ component: 'metrics' })),
  };
}
