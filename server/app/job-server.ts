/**
 * Composition root of the job server: builds the log store, executor,
 * engine, scheduler and HTTP app from the configuration, runs restart
 * recovery, listens, and on stop drains in order (refuse new work, stop the
 * scheduler, let running executions finish within `server.drainTimeout`,
 * close the HTTP server, release the database pool).
 */
import { retryDeadConnections } from '../db/retrying-pool.js';
import { logIdleConnectionError } from '../db/sqlstate.js';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { FsLogStore } from '../logs/fs-store.js';
import { createGcsLogStore } from '../logs/gcs/from-config.js';
import type { LogStore } from '../logs/store.js';
import { ExecutionEngine } from '../executions/engine.js';
import { LocalExecutor } from '../executions/local-executor.js';
import { EmailNotifier } from '../executions/email.js';
import { protectServerFiles, resolveRunAs, setprivPath } from '../executions/run-as.js';
import { recoverLeftoverExecutions } from '../executions/recovery.js';
import { Scheduler } from '../schedule/scheduler.js';
import { createApp } from '../http/app.js';
import type { AuthDeps } from '../auth/middleware.js';
import { authService } from '../auth/service.js';
import { memberName } from './member.js';
import { SiteMonitor } from '../site/monitor.js';
import { createJobServerMetrics, type JobServerMetrics } from '../metrics/job-server.js';
import { NodeCatalog } from '../nodes/catalog.js';
import { LocalNodeExecutor } from '../nodes/local-node-executor.js';
import { NodeMetrics } from '../nodes/metrics.js';
import type { NodeExecutor } from '../nodes/node-executor.js';
import { checkClusterConfig, joinCluster, LateFence } from '../cluster/cluster.js';
import type { Membership } from '../cluster/membership.js';
import { registerClusterMetrics } from '../cluster/metrics.js';
import { Dispatcher } from '../cluster/dispatch.js';
import { checkPolicies } from '../cluster/policy.js';
import { Keyring } from '../keys/cipher.js';
import { KeyStorage } from '../keys/key-storage.js';
import { HostKeys } from '../nodes/ssh/host-keys.js';
import { createSshNodeExecutor } from '../nodes/ssh/from-config.js';

export interface JobServerOptions {
  config: Config;
  log: Logger;
  /** Use this pool instead of creating one from database.url (closed by the caller then). */
  pool?: pg.Pool;
  /** Use this log store instead of the configured one. */
  store?: LogStore;
  /** Node executors besides `local` (e.g. `ssh`), by their kind; closed at stop. */
  nodeExecutors?: NodeExecutor[];
  /** The configuration file it was loaded from: with executions.runAs, it must be unreadable to the step user. */
  configFile?: string;
}

export interface JobServer {
  readonly url: string;
  readonly port: number;
  readonly member: string;
  readonly pool: pg.Pool;
  readonly engine: ExecutionEngine;
  readonly scheduler: Scheduler;
  readonly store: LogStore;
  readonly http: Server;
  /** This process's metrics (also served at GET /metrics). */
  readonly metrics: JobServerMetrics;
  /** Each project's node model (server/nodes/). */
  readonly nodes: NodeCatalog;
  /** This member in its site's cluster (heartbeats, generation, execution mode). */
  readonly membership: Membership;
  /** Key Storage (encrypted in the database), for node executors and the API. */
  readonly keys: KeyStorage;
  readonly hostKeys: HostKeys;
  /** Drain and stop (idempotent). */
  stop(): Promise<void>;
}

/** The configured log store: the filesystem (embedded default) or GCS with a local spool. */
async function createStore(config: Config, log: Logger, member: string, pool: pg.Pool, metrics: JobServerMetrics): Promise<LogStore> {
  if (config.logs.store === 'gcs') return createGcsLogStore({ config, log, member, db: pool, metrics: metrics.logs });
  return new FsLogStore({ dir: config.logs.dir });
}

export async function startJobServer(o: JobServerOptions): Promise<JobServer> {
  const { config } = o;
  checkClusterConfig(config);
  checkPolicies(config);
  // Every line of this server names its site (when it is one of several).
  const log = config.site ? o.log.child({ site: config.site }) : o.log;
  const ownPool = !o.pool;
  const pool = retryDeadConnections(
    o.pool ?? new pg.Pool({ connectionString: config.database.url, max: config.database.poolSize, application_name: 'tandem-server' }),
  );
  pool.on('error', logIdleConnectionError(log));
  // executions.runAs: steps run as that user; the server's secret files must be unreadable to it (run-as.ts).
  const runAs = config.executions.runAs ? { ...resolveRunAs(config.executions.runAs), setpriv: setprivPath() } : undefined;
  if (runAs) {
    await protectServerFiles(runAs, config, o.configFile);
    log.info('steps run as an unprivileged user', { runAs: runAs.name, uid: runAs.uid, gid: runAs.gid });
  }
  const executor = new LocalExecutor({ log: log.child({ component: 'executor' }), killGraceMs: config.executions.killGrace, path: config.executions.path, runAs });
  // The member name needs the port, which is known only after listen when port 0 is asked for.
  const http = (await import('node:http')).createServer();
  http.listen(config.server.port, config.server.host);
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  const member = memberName(config, port);
  const metrics = createJobServerMetrics({ log, member, running: () => engine.runningIds().length });
  let store: LogStore;
  try {
    store = metrics.logs.instrument(o.store ?? (await createStore(config, log, member, pool, metrics)));
  } catch (e) {
    http.close();
    if (ownPool) await pool.end();
    throw e;
  }
  // Key Storage and the known SSH host keys: used by the ssh node executor and served by the API.
  const keys = new KeyStorage({ pool, keyring: Keyring.fromConfig(config.keyStorage) });
  const hostKeys = new HostKeys(pool);
  // Node executors by kind: `local` and `ssh` here; options.nodeExecutors adds or replaces others.
  const nodeExecutors = new Map<string, NodeExecutor>([
    ['local', new LocalNodeExecutor(executor)],
    ['ssh', createSshNodeExecutor({ pool, config, log: log.child({ component: 'ssh' }), keys, hostKeys })],
  ]);
  for (const x of o.nodeExecutors ?? []) nodeExecutors.set(x.kind, x);
  const nodeMetrics = new NodeMetrics(metrics.registry, () => nodes);
  const nodes = new NodeCatalog({
    pool,
    log: log.child({ component: 'nodes' }),
    executor,
    refreshMs: config.nodes.refreshInterval,
    sourcePaths: config.nodes.sourcePaths,
    localName: config.nodes.localNodeName,
    onSourceFailure: (project, type) => nodeMetrics.sourceFailed(project, type),
  });
  const auth: AuthDeps = { pool, config, log, metrics: metrics.auth };
  // Built once this member has joined its cluster (below); until then everything runs here.
  let dispatcher: Dispatcher | undefined;
  // The engine runs every execution under this member's current generation (fenced once declared dead).
  const fence = new LateFence();
  const engine = new ExecutionEngine({
    // The same policy set as the HTTP routes' (authService is memoised by `auth`).
    policies: authService(auth).policies,
    pool,
    store,
    executor,
    nodes: { catalog: nodes, executors: nodeExecutors },
    log: log.child({ component: 'engine', member }),
    member,
    pathTemplate: config.logs.pathTemplate,
    abortPollMs: config.executions.abortPollInterval,
    metrics: metrics.executions,
    email: new EmailNotifier(config.notifications, log.child({ component: 'notifications', member }), metrics.executions),
    fence,
  });
  const scheduler = new Scheduler({
    pool,
    engine,
    log: log.child({ component: 'scheduler', member }),
    member,
    intervalMs: config.scheduler.interval,
    misfireGraceMs: config.scheduler.misfireGrace,
    misfirePolicy: config.scheduler.misfirePolicy,
    metrics: metrics.executions,
    mayFire: () => fence.membership?.executionsEnabled ?? true,
    dispatch: {
      choose: (project, def) => (dispatcher ? dispatcher.choose(project, def) : Promise.resolve(member)),
      handedOver: (db, id, to) => dispatcher!.handedOver(db, id, to),
    },
  });
  /** A start-up step failed after the engine and the store exist: release them before the error goes up. */
  const releaseOnFailedStart = async (): Promise<void> => {
    http.close();
    await engine.close();
    await store.close();
    if (ownPool) await pool.end();
  };
  try {
    const recovered = await recoverLeftoverExecutions({ pool, store, log, member });
    metrics.executions.executionFinished('failed', recovered.length);
    if (recovered.length) log.warn('executions closed at restart', { member, executions: recovered });
  } catch (e) {
    await releaseOnFailedStart();
    throw e;
  }
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  // Joins before anything can run here (the scheduler starts with the site monitor, requests once the app is mounted).
  let site: SiteMonitor | undefined;
  let membership: Membership;
  try {
    membership = await joinCluster({
      pool,
      config,
      log: log.child({ component: 'cluster', member }),
      store,
      engine,
      member,
      url,
      fence,
      schedulerOn: () => config.scheduler.enabled && (site?.confirmedActive() ?? false),
      closed: (n) => metrics.executions.executionFinished('failed', n),
      onTick: () => dispatcher?.tick() ?? Promise.resolve(),
    });
    dispatcher = new Dispatcher({ pool, config, log: log.child({ component: 'dispatch', member }), engine, membership });
    await dispatcher.start();
  } catch (e) {
    await releaseOnFailedStart();
    throw e;
  }
  registerClusterMetrics({
    registry: metrics.registry,
    pool,
    log,
    membership,
    timing: { inactiveAfterMs: config.cluster.inactiveAfter, deadAfterMs: config.cluster.deadAfter },
  });
  // Runs the scheduler only while this site is active; fences a returning old active site before anything is scheduled.
  site = new SiteMonitor({
    pool,
    config,
    log: log.child({ component: 'site', member }),
    scheduler: config.scheduler.enabled ? scheduler : null,
    // The members listing shows this member's scheduler as its heartbeat reports it (schedulerOn above).
    onActiveChange: () => membership.reportNow(),
  });
  await site.start();
  metrics.site.attach({ pool, siteName: config.site, confirmedActive: () => site.confirmedActive(), accepting: () => engine.isAccepting });
  const app = createApp({ pool, config, log, store, engine, auth, site, metrics, nodes, membership, dispatcher, keys, hostKeys, configFile: o.configFile });
  http.on('request', app.callback());
  log.info('job server listening', { url, member, logStore: store.kind, scheduler: config.scheduler.enabled });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('draining: no new executions; waiting for running ones', { running: engine.runningIds().length, timeoutMs: config.server.drainTimeout });
      await site.stop();
      await scheduler.stop();
      await dispatcher?.stop();
      await engine.drain(config.server.drainTimeout);
      nodes.close();
      for (const x of nodeExecutors.values()) await x.close().catch((e) => log.warn('cannot close a node executor', { kind: x.kind, error: e }));
      // After the drain: running executions kept their lease (heartbeats) until they ended.
      await membership.stop();
      await executor.close();
      await new Promise<void>((r) => {
        http.close(() => r());
        http.closeAllConnections?.();
      });
      await store.close();
      if (ownPool) await pool.end();
      log.info('stopped');
    })());
  return { url, port, member, pool, engine, scheduler, store, http, metrics, nodes, membership, keys, hostKeys, stop };
}
