import type Router from '@koa/router';
import { authorize } from '../../auth/middleware.js';
import { productVersion } from '../../app/version.js';
import { siteRole } from '../../site/guard.js';
import { getSite } from '../../site/sql/get-site.js';
import { requirePrincipal } from '../../auth/principal.js';
import type { AppDeps } from '../deps.js';
import { countByState } from '../../cluster/manager.js';
import { listMembers } from '../../cluster/sql/list-members.js';
import { sitesOverview } from '../../site/overview.js';

export function mountSystemRoutes(router: Router, deps: AppDeps): void {
  // Which site and member answered, for every signed-in user (the web UI shows it on every page, and on a
  // site that is not active links to the active one). Nothing here is secret: the role is also in /health/active.
  router.get('/api/v1/site', async (ctx) => {
    requirePrincipal(ctx);
    const site = await getSite(deps.pool);
    ctx.body = {
      name: site?.name ?? deps.config.site ?? null,
      role: site ? site.role : await siteRole(deps.pool),
      epoch: site?.epoch ?? null,
      activeSite: site?.activeSite ?? null,
      activeUrl: site?.activeUrl ?? null,
      member: deps.engine.member,
    };
  });

  // Every site's role, epoch, replication lag, object backlog and members, with the failover commands that fit
  // (the Sites page). Other sites' databases are read with a short connect timeout; unreachable is reported.
  router.get('/api/v1/sites', async (ctx) => {
    authorize(ctx, 'read', { type: 'system' });
    ctx.body = await sitesOverview({ pool: deps.pool, config: deps.config, member: deps.engine.member, configFile: deps.configFile });
  });

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
