/**
 * HTTP request metrics and the request id. The middleware is the outermost
 * one of the app, so it sees the final status (after the error middleware
 * turned a thrown error into its answer). The `route` label is the matched
 * route *pattern* (`/api/v1/executions/:id`), never the path, so ids never
 * become label values; anything that matched no route counts as `unmatched`.
 */
import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import client from 'prom-client';
import type { Logger } from '../log.js';
import { LATENCY_BUCKETS, secondsSince, type Registry } from './registry.js';

/** Methods kept as label values; anything else (a scanner's `FOO`) is `other`. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
/** A caller's X-Request-Id is reused only when it looks like an id (no log injection, bounded length). */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;

export class HttpMetrics {
  private readonly requests: client.Counter<'method' | 'route' | 'status'>;
  private readonly duration: client.Histogram<'method' | 'route'>;

  constructor(registry: Registry) {
    this.requests = new client.Counter({
      name: 'tandem_http_requests_total',
      help: 'HTTP requests answered, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    });
    this.duration = new client.Histogram({
      name: 'tandem_http_request_duration_seconds',
      help: 'Time to answer an HTTP request, by method and route pattern.',
      labelNames: ['method', 'route'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    });
  }

  /**
   * Times every request, gives it an id (`ctx.state.requestId`, echoed as
   * `X-Request-Id`) and writes one debug line per request with that id.
   */
  middleware(log: Logger): Koa.Middleware {
    return async (ctx, next) => {
      const start = process.hrtime.bigint();
      const given = ctx.get('x-request-id');
      const requestId = REQUEST_ID.test(given) ? given : randomUUID();
      ctx.state.requestId = requestId;
      ctx.set('X-Request-Id', requestId);
      try {
        await next();
      } finally {
        const seconds = secondsSince(start);
        const method = METHODS.has(ctx.method) ? ctx.method : 'other';
        const route = routeOf(ctx);
        this.requests.inc({ method, route, status: String(ctx.status) });
        this.duration.observe({ method, route }, seconds);
        log.debug('request', { requestId, method: ctx.method, route, status: ctx.status, ms: Math.round(seconds * 1000) });
      }
    };
  }
}

/** The route pattern @koa/router matched (`_matchedRoute`), or `unmatched`. */
function routeOf(ctx: Koa.Context): string {
  const r = (ctx as unknown as { _matchedRoute?: unknown })._matchedRoute;
  return typeof r === 'string' ? r : 'unmatched';
}
