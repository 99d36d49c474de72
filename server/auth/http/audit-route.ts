/** GET /api/v1/audit?limit=&before=&event=&user= (newest first), for whoever may read the audit trail. */
import type Router from '@koa/router';
import { TandemError } from '../../errors.js';
import { requireService } from '../principal.js';
import { listAudit } from '../sql/list-audit.js';
import { authorize } from './authorize.js';

function queryString(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

export function mountAuditRoute(router: Router): void {
  router.get('/api/v1/audit', async (ctx) => {
    const svc = requireService(ctx);
    authorize(ctx, 'read', { type: 'audit' });
    const limitText = queryString(ctx.query.limit) ?? '100';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 1000) throw new TandemError('validation_failed', 'limit must be an integer from 1 to 1000', { field: 'limit' });
    const beforeText = queryString(ctx.query.before);
    const before = beforeText ? new Date(beforeText) : null;
    if (before && Number.isNaN(before.getTime())) throw new TandemError('validation_failed', 'before must be an ISO 8601 time', { field: 'before' });
    const events = await listAudit(svc.pool, { limit, before, event: queryString(ctx.query.event), username: queryString(ctx.query.user) });
    ctx.body = {
      events: events.map((e) => ({ ...e, at: e.at.toISOString() })),
      // Pass as ?before= to get the next (older) page.
      next: events.length === limit ? events[events.length - 1]!.at.toISOString() : null,
    };
  });
}
