/**
 * Health endpoints for load balancers and orchestrators (no authentication):
 *
 * - `/health/live`: the process answers.
 * - `/health/ready`: the database answers and the server is not shutting down
 *   (a passive site is ready: it serves reads). Includes the site's role and,
 *   on a passive site, the replication position and lag.
 * - `/health/active`: 200 only on the active site, 503 otherwise. A load
 *   balancer sends writes (or everything) where this answers 200. It answers
 *   200 only when the database says `active` now AND the site monitor has
 *   compared epochs with the peers since the last database failure, so a
 *   site that lost its database never claims to be active again before it
 *   has checked whether another site took over; a peer that cannot be
 *   reached is no permission (server/site/monitor.ts, "When the peers cannot
 *   be reached").
 */
import Router from '@koa/router';
import type Koa from 'koa';
import { TandemError, errorMessage } from '../../errors.js';
import { sendError } from '../errors.js';
import { getSite } from '../../site/sql/get-site.js';
import { localReplication, type LocalReplication } from '../../site/sql/local-replication.js';
import type { SiteRow } from '../../site/types.js';
import type { AppDeps } from '../deps.js';

function replicationBody(r: LocalReplication | null): Record<string, unknown> | undefined {
  if (!r) return undefined;
  return {
    appliedLsn: r.appliedLsn,
    lastCommitTime: r.lastCommitTime?.toISOString() ?? null,
    lagSeconds: r.secondsSinceLastCommit,
    state: r.state,
  };
}

function siteBody(row: SiteRow | null): Record<string, unknown> {
  if (!row) return { site: null, role: 'active', epoch: null };
  return { site: row.name, role: row.role, epoch: row.epoch, activeSite: row.activeUrl };
}

/** A 503 in the one error shape (server/http/errors.ts), with the site's state for whoever checks why. */
function unavailable(ctx: Koa.Context, code: 'unavailable' | 'site_passive', message: string, extra: Record<string, unknown> = {}): void {
  sendError(ctx, new TandemError(code, message, { details: extra }));
}

export function healthRoutes(deps: AppDeps): Router {
  const router = new Router();
  router.get('/health/live', (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });

  router.get('/health/ready', async (ctx) => {
    if (!deps.engine.isAccepting) return unavailable(ctx, 'unavailable', 'shutting down');
    let row: SiteRow | null;
    let repl: LocalReplication | null = null;
    try {
      row = await getSite(deps.pool);
      if (row && row.role !== 'active') repl = await localReplication(deps.pool);
    } catch (e) {
      deps.site?.databaseFailed();
      return unavailable(ctx, 'unavailable', `database unreachable: ${errorMessage(e)}`);
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok', ...siteBody(row), replication: replicationBody(repl) };
  });

  router.get('/health/active', async (ctx) => {
    let row: SiteRow | null;
    try {
      row = await getSite(deps.pool);
    } catch (e) {
      deps.site?.databaseFailed();
      return unavailable(ctx, 'unavailable', `database unreachable: ${errorMessage(e)}`);
    }
    const active = (row === null || row.role === 'active') && (deps.site ? deps.site.confirmedActive() : true);
    if (active && deps.engine.isAccepting) {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { status: 'active', ...siteBody(row) };
      return;
    }
    let repl: LocalReplication | null = null;
    if (row && row.role !== 'active') repl = await localReplication(deps.pool).catch(() => null);
    const why = !deps.engine.isAccepting
      ? 'shutting down'
      : row && row.role !== 'active'
        ? `this site is ${row.role}`
        : (deps.site?.unconfirmedReason() ?? 'this site has not yet confirmed its epoch with its peers');
    unavailable(ctx, 'site_passive', why, { ...siteBody(row), replication: replicationBody(repl) });
  });
  return router;
}
