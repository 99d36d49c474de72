/**
 * `GET /metrics` in the Prometheus text format. Like the health checks it
 * needs no credentials (a scraper has none); it exposes counts and states,
 * never names, ids or secrets.
 */
import type Koa from 'koa';
import { TandemError } from '../errors.js';
import type { Registry } from './registry.js';

export function metricsEndpoint(registry: Registry): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.path !== '/metrics') return next();
    // Served without a router: name the route as @koa/router would, so scrapes are counted as `/metrics`, not `unmatched`.
    (ctx as unknown as { _matchedRoute?: string })._matchedRoute = '/metrics';
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD');
      throw new TandemError('method_not_allowed', `${ctx.method} is not allowed on /metrics`);
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.type = registry.contentType;
    ctx.body = await registry.metrics();
  };
}
