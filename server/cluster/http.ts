/**
 * Cluster Manager API (Rundeck's executions enable/disable, per member and
 * per site): read with `read` on `system`, change with `admin` on `system`.
 */
import type Router from '@koa/router';
import { authorize } from '../auth/middleware.js';
import { authState, requirePrincipal } from '../auth/principal.js';
import { TandemError } from '../errors.js';
import type { AppDeps } from '../http/deps.js';
import { changeExecutionMode, membersReport } from './manager.js';
import { getSiteExecutionMode } from './sql/set-execution-mode.js';

const modeOf = (action: string | undefined) => {
  if (action === 'enable') return 'active' as const;
  if (action === 'disable') return 'passive' as const;
  throw new TandemError('not_found', `unknown action ${JSON.stringify(action)}: enable or disable`);
};

export function mountClusterRoutes(router: Router, deps: AppDeps): void {
  const timing = { inactiveAfterMs: deps.config.cluster.inactiveAfter, deadAfterMs: deps.config.cluster.deadAfter };

  router.get('/api/v1/system/members', async (ctx) => {
    authorize(ctx, 'read', { type: 'system' });
    ctx.body = await membersReport(deps.pool, timing);
  });

  router.post('/api/v1/system/members/:name/executions/:action', async (ctx) => {
    authorize(ctx, 'admin', { type: 'system' });
    const mode = modeOf(ctx.params.action);
    const by = requirePrincipal(ctx).user;
    await changeExecutionMode(deps.pool, deps.log, { member: ctx.params.name!, mode, by, clientAddr: authState(ctx).clientAddr ?? null, via: 'api' });
    ctx.body = { member: ctx.params.name, executionMode: mode };
  });

  /** The whole site, as Rundeck's POST /api/V/system/executions/enable|disable. */
  router.post('/api/v1/system/executions/:action', async (ctx) => {
    authorize(ctx, 'admin', { type: 'system' });
    const mode = modeOf(ctx.params.action);
    await changeExecutionMode(deps.pool, deps.log, { mode, by: requirePrincipal(ctx).user, clientAddr: authState(ctx).clientAddr ?? null, via: 'api' });
    ctx.body = { executionMode: mode };
  });

  /** Rundeck's GET /api/V/system/executions/status: this member's mode (`?passiveAs503=true`: 503 when passive). */
  router.get('/api/v1/system/executions/status', async (ctx) => {
    authorize(ctx, 'read', { type: 'system' });
    const site = await getSiteExecutionMode(deps.pool);
    const member = deps.membership?.memberExecutionMode ?? 'active';
    const executionMode = site === 'active' && member === 'active' ? 'active' : 'passive';
    if (executionMode === 'passive' && ctx.query.passiveAs503 === 'true') ctx.status = 503;
    ctx.body = { executionMode, member: deps.engine.member, memberExecutionMode: member, siteExecutionMode: site };
  });
}
