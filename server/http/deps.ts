/** What the HTTP layer needs from the rest of the server (built by the composition root, server/app/). */
import type pg from 'pg';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { LogStore } from '../logs/store.js';
import type { ExecutionEngine } from '../executions/engine.js';
import type { AuthDeps } from '../auth/middleware.js';
import type { SiteMonitor } from '../site/monitor.js';
import type { JobServerMetrics } from '../metrics/job-server.js';
import type { NodeCatalog } from '../nodes/catalog.js';
import type { Membership } from '../cluster/membership.js';
import type { Dispatcher } from '../cluster/dispatch.js';
import type { KeyStorage } from '../keys/key-storage.js';
import type { HostKeys } from '../nodes/ssh/host-keys.js';

export interface AppDeps {
  pool: pg.Pool;
  config: Config;
  log: Logger;
  store: LogStore;
  engine: ExecutionEngine;
  /** Shared by authenticate and authRoutes (one throttle, one policy set). */
  auth: AuthDeps;
  /** Site role and epoch checks (health routes); absent in single-site tests. */
  site?: SiteMonitor;
  /** Request timing and GET /metrics; absent in tests that build the app alone. */
  metrics?: JobServerMetrics;
  /** Node models (server/nodes/); absent in tests that build the app alone (the node routes answer 503). */
  nodes?: NodeCatalog;
  /** This member in its site's cluster; absent in tests that build the app alone. */
  membership?: Membership;
  /** Chooses the member that runs an execution (remote execution policy); absent: this member. */
  dispatcher?: Dispatcher;
  /** Key Storage (/api/v1/storage/keys); absent in tests that build the app alone. */
  keys?: KeyStorage;
  /** SSH host keys the SSH node executor accepted (/api/v1/projects/P/ssh/host-keys). */
  hostKeys?: HostKeys;
  /** The configuration file the server was started with (printed in the Sites page's failover commands). */
  configFile?: string;
}
