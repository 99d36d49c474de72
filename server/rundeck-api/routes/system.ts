/**
 * `system/info`, `system/executions/status|enable|disable` and
 * `metrics/ping|healthcheck`.
 *
 * Rundeck's execution mode (active: runs jobs; passive: runs nothing) is, in
 * Tandem, the site's role: an active site runs executions, a passive (or
 * draining, fenced) site runs none, and a member that is shutting down
 * accepts none. The role changes by switchover/failover (`tandem failover
 * --to SITE`), not by this API: enable/disable answer the mode when it is
 * already the one asked for, and otherwise refuse with 409 saying how.
 */
import type Router from '@koa/router';
import os from 'node:os';
import { authorize } from '../../auth/middleware.js';
import { productVersion } from '../../app/version.js';
import type { AppDeps } from '../../http/deps.js';
import { siteRole } from '../../site/guard.js';
import { rundeckError } from '../errors.js';
import { links, qbool } from '../request.js';
import { href } from '../urls.js';
import { w3cDate } from '../views.js';
import { MAX_API_VERSION } from '../version.js';

type ExecutionMode = 'active' | 'passive';

async function executionMode(deps: AppDeps): Promise<ExecutionMode> {
  return deps.engine.isAccepting && (await siteRole(deps.pool)) === 'active' ? 'active' : 'passive';
}

const started = Date.now() - Math.round(process.uptime() * 1000);

function instant(ms: number) {
  return { epoch: ms, unit: 'ms', datetime: w3cDate(new Date(ms)) };
}

export function mountSystemRoutes(router: Router, deps: AppDeps): void {
  router.get('/system/info', async (ctx) => {
    authorize(ctx, 'read', { type: 'system' });
    const l = links(ctx, deps);
    const mode = await executionMode(deps);
    const mem = process.memoryUsage();
    const now = Date.now();
    ctx.body = {
      system: {
        timestamp: instant(now),
        rundeck: {
          version: productVersion(),
          build: `tandem-${productVersion()}`,
          node: deps.engine.member,
          base: process.cwd(),
          apiversion: MAX_API_VERSION,
          serverUUID: null,
        },
        executions: { active: mode === 'active', executionMode: mode },
        os: { arch: os.arch(), name: os.type(), version: os.release() },
        jvm: { name: 'Node.js', vendor: 'OpenJS Foundation', version: process.versions.node, implementationVersion: process.version },
        stats: {
          uptime: { duration: now - started, unit: 'ms', since: instant(started) },
          cpu: { loadAverage: { unit: 'percent', average: os.loadavg()[0] }, processors: os.cpus().length },
          memory: { unit: 'byte', max: os.totalmem(), free: os.freemem(), total: mem.rss },
          scheduler: { running: deps.engine.runningIds().length, threadPoolSize: null },
          threads: { active: null },
        },
        healthcheck: { href: href.metrics(l, 'healthcheck'), contentType: 'application/json' },
        ping: { href: href.metrics(l, 'ping'), contentType: 'text/plain' },
      },
    };
  });

  router.get('/system/executions/status', async (ctx) => {
    authorize(ctx, 'read', { type: 'system' });
    const mode = await executionMode(deps);
    // Before API 36 a passive server answered 503; from 36 on only when asked with passiveAs503=true.
    const as503 = qbool(ctx, 'passiveAs503') ?? links(ctx, deps).version < 36;
    ctx.status = mode === 'passive' && as503 ? 503 : 200;
    ctx.body = { executionMode: mode };
  });

  for (const [verb, want] of [['enable', 'active'], ['disable', 'passive']] as const) {
    router.post(`/system/executions/${verb}`, async (ctx) => {
      authorize(ctx, 'admin', { type: 'system' });
      const mode = await executionMode(deps);
      if (mode !== want) {
        throw rundeckError(
          'conflict',
          'api.error.execution.conflict',
          `Execution had a conflict: this server is ${mode}; in Tandem the execution mode follows the site's role, changed by a switchover or failover (tandem failover --to SITE), not through this API`,
        );
      }
      ctx.body = { executionMode: mode };
    });
  }

  router.get('/metrics/ping', (ctx) => {
    authorize(ctx, 'read', { type: 'system' });
    ctx.type = 'text/plain';
    ctx.body = 'pong\n';
  });

  router.get('/metrics/healthcheck', async (ctx) => {
    authorize(ctx, 'read', { type: 'system' });
    const t0 = Date.now();
    let db: { healthy: boolean; message: string };
    try {
      await deps.pool.query('select 1');
      db = { healthy: true, message: `Datasource connection healthy (${Date.now() - t0} ms)` };
    } catch (e) {
      db = { healthy: false, message: `Datasource connection failed: ${(e as Error).message}` };
    }
    const accepting = deps.engine.isAccepting;
    ctx.status = db.healthy && accepting ? 200 : 500;
    ctx.body = {
      'dataSource.connection.time': db,
      'tandem.executions.accepting': accepting ? { healthy: true } : { healthy: false, message: 'shutting down' },
    };
  });
}
