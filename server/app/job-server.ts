/**
 * Composition root of the job server: builds the log store, executor,
 * engine, scheduler and HTTP app from the configuration, runs restart
 * recovery, listens, and on stop drains in order (refuse new work, stop the
 * scheduler, let running executions finish within `server.drainTimeout`,
 * close the HTTP server, release the database pool).
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import type { Config } from '../config/schema.js';
import { TandemError } from '../errors.js';
import type { Logger } from '../log.js';
import { FsLogStore } from '../logs/fs-store.js';
import type { LogStore } from '../logs/store.js';
import { ExecutionEngine } from '../executions/engine.js';
import { LocalExecutor } from '../executions/local-executor.js';
import { recoverLeftoverExecutions } from '../executions/recovery.js';
import { Scheduler } from '../scheduler/scheduler.js';
import { createApp } from '../http/app.js';
import type { AuthDeps } from '../auth/middleware.js';
import { memberName } from './member.js';
import { SiteMonitor } from '../site/monitor.js';

export interface JobServerOptions {
  config: Config;
  log: Logger;
  /** Use this pool instead of creating one from database.url (closed by the caller then). */
  pool?: pg.Pool;
  /** Use this log store instead of the configured one. */
  store?: LogStore;
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
  /** Drain and stop (idempotent). */
  stop(): Promise<void>;
}

function createStore(config: Config): LogStore {
  if (config.logs.store === 'filesystem') return new FsLogStore({ dir: config.logs.dir });
  throw new TandemError('invalid_config', `logs.store: "${config.logs.store}" is not available in this build of the job server yet; use filesystem`, {
    field: 'logs.store',
  });
}

export async function startJobServer(o: JobServerOptions): Promise<JobServer> {
  const { config, log } = o;
  const ownPool = !o.pool;
  const pool = o.pool ?? new pg.Pool({ connectionString: config.database.url, max: config.database.poolSize, application_name: 'tandem-server' });
  pool.on('error', (e) => log.warn('idle database connection failed', { error: e }));
  const store = o.store ?? createStore(config);
  const executor = new LocalExecutor({ log: log.child({ component: 'executor' }), killGraceMs: config.executions.killGrace });
  // The member name needs the port, which is known only after listen when port 0 is asked for.
  const http = (await import('node:http')).createServer();
  http.listen(config.server.port, config.server.host);
  await once(http, 'listening');
  const port = (http.address() as AddressInfo).port;
  const member = memberName(config, port);
  const engine = new ExecutionEngine({
    pool,
    store,
    executor,
    log: log.child({ component: 'engine', member }),
    member,
    pathTemplate: config.logs.pathTemplate,
    abortPollMs: config.executions.abortPollInterval,
  });
  const scheduler = new Scheduler({
    pool,
    engine,
    log: log.child({ component: 'scheduler', member }),
    member,
    intervalMs: config.scheduler.interval,
    misfireGraceMs: config.scheduler.misfireGrace,
    misfirePolicy: config.scheduler.misfirePolicy,
  });
  try {
    const recovered = await recoverLeftoverExecutions({ pool, store, log, member });
    if (recovered.length) log.warn('executions closed at restart', { member, executions: recovered });
  } catch (e) {
    http.close();
    throw e;
  }
  const auth: AuthDeps = { pool, config, log };
  // Runs the scheduler only while this site is active; fences a returning old active site before anything is scheduled.
  const site = new SiteMonitor({ pool, config, log: log.child({ component: 'site', member }), scheduler: config.scheduler.enabled ? scheduler : null });
  await site.start();
  const app = createApp({ pool, config, log, store, engine, auth, site });
  http.on('request', app.callback());
  const host = config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  log.info('job server listening', { url, member, logStore: store.kind, scheduler: config.scheduler.enabled });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      log.info('draining: no new executions; waiting for running ones', { running: engine.runningIds().length, timeoutMs: config.server.drainTimeout });
      await site.stop();
      await scheduler.stop();
      await engine.drain(config.server.drainTimeout);
      await executor.close();
      await new Promise<void>((r) => {
        http.close(() => r());
        http.closeAllConnections?.();
      });
      await store.close();
      if (ownPool) await pool.end();
      log.info('stopped');
    })());
  return { url, port, member, pool, engine, scheduler, store, http, stop };
}
