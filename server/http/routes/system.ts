import type Router from '@koa/router';
import { authorize } from '../../auth/middleware.js';
import { productVersion } from '../../app/version.js';
import { siteRole } from '../../site/guard.js';
import type { AppDeps } from '../deps.js';
import { countByState } from '../../cluster/manager.js';
import { listMembers } from '../../cluster/sql/list-members.js';

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
      // This site's cluster (server/cluster/): member counts by state and whether this member takes new executions.
      members: countByState(await listMembers(deps.pool, { inactiveAfterMs: deps.config.cluster.inactiveAfter, deadAfterMs: deps.config.cluster.deadAfter })),
      executionsEnabled: deps.membership?.executionsEnabled ?? true,
      serverTime: new Date().toISOString(),
    };
  });
}
