/**
 * `system/info`, `system/executions/status|enable|disable` and
 * `metrics/ping|healthcheck`.
 *
 * Rundeck's execution mode (active: runs jobs; passive: runs nothing) is, in
 * Tandem, `active` only when all of these allow runs: the site's execution
 * mode (server/cluster/, what enable/disable change, as `POST
 * /api/v1/system/executions/enable|disable`), this member's execution mode,
 * the site's role (a passive, draining or fenced site runs nothing) and the
 * member itself (one shutting down accepts nothing).
 */
import type Router from '@koa/router';
import os from 'node:os';
import { authorize } from '../../auth/middleware.js';
import { authState, requirePrincipal } from '../../auth/principal.js';
import { changeExecutionMode } from '../../cluster/manager.js';
import { getSiteExecutionMode } from '../../cluster/sql/set-execution-mode.js';
import { productVersion } from '../../app/version.js';
import type { AppDeps } from '../../http/deps.js';
import { siteRole } from '../../site/guard.js';
import { links, qbool } from '../request.js';
import { href } from '../urls.js';
import { w3cDate } from '../views.js';
import { MAX_API_VERSION } from '../version.js';

type ExecutionMode = 'active' | 'passive';

async function executionMode(deps: AppDeps): Promise<ExecutionMode> {
  // executionsEnabled: this member's and the site's mode as of its last heartbeat, what its dispatcher acts on;
  // the site's mode is also read now, so that a disable shows at once (an enable shows from the next heartbeat).
  if (!deps.engine.isAccepting || !(deps.membership?.executionsEnabled ?? true)) return 'passive';
  const [role, site] = await Promise.all([siteRole(deps.pool), getSiteExecutionMode(deps.pool)]);
  return role === 'active' && site === 'active' ? 'active' : 'passive';
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

  // The site's execution mode, as the Cluster Manager's POST /api/v1/system/executions/enable|disable
  // (audited there; site-local, so it works on a passive site too, to prepare a failover).
  for (const [verb, mode] of [['enable', 'active'], ['disable', 'passive']] as const) {
    router.post(`/system/executions/${verb}`, async (ctx) => {
      authorize(ctx, 'admin', { type: 'system' });
      await changeExecutionMode(deps.pool, deps.log, { mode, by: requirePrincipal(ctx).user, clientAddr: authState(ctx).clientAddr ?? null, via: 'api' });
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
