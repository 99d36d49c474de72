import type Router from '@koa/router';
import { authorize } from '../../auth/middleware.js';
import { productVersion } from '../../app/version.js';
import { siteRole } from '../../site/guard.js';
import type { AppDeps } from '../deps.js';

export function mountSystemRoutes(router: Router, deps: AppDeps): void {
  router.get('/api/v1/system/info', async (ctx) => {
    authorize(ctx, 'read', { type: 'system' });
    ctx.body = {
      name: 'tandem',
      version: productVersion(),
      member: deps.engine.member,
      siteRole: await siteRole(deps.pool),
      accepting: deps.engine.isAccepting,
      runningExecutions: deps.engine.runningIds().length,
      logStore: deps.store.kind,
      serverTime: new Date().toISOString(),
    };
  });
}
