/**
 * The one error exit of the HTTP server. Every failure of every route (API,
 * auth, health, and the Rundeck-compatible API) leaves as
 * `{error:{code,message,field?}}` with its status:
 *
 * - TandemErrors as they are (`expose` is implied: their messages are written for clients);
 * - Koa/http-errors below 500 (e.g. a malformed URL) by their status;
 * - a lost database connection (restart, failover, database down) as 503
 *   `unavailable`, so that a load balancer retries it elsewhere, whichever
 *   route met it;
 * - anything else as a logged 500 `internal` without internals in the body.
 *
 * Routes never build error bodies themselves: they throw, or call sendError
 * when they must answer an error without unwinding (the login form).
 */
import type Koa from 'koa';
import { TandemError, isTandemError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { isConnectionLost } from '../db/tx.js';

const byStatus: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'unavailable',
};

/** Write `err` as the answer: status, JSON body and the headers its code implies. */
export function sendError(ctx: Koa.Context, err: TandemError): void {
  ctx.status = err.status;
  ctx.body = err.toJSON();
  if (err.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="tandem"');
  const retryAfter = err.details?.retryAfter;
  if (typeof retryAfter === 'number') ctx.set('Retry-After', String(retryAfter));
  // An error answer is never to be reused by a cache (a 503 during a failover least of all).
  ctx.set('Cache-Control', 'no-store');
}

/** The TandemError a thrown value answers as (logging what the client is not told). */
export function toTandemError(e: unknown, log: Logger, ctx: Koa.Context): TandemError {
  if (isTandemError(e)) return e;
  const status = (e as { status?: number }).status;
  if (status && status < 500 && byStatus[status]) return new TandemError(byStatus[status]!, (e as Error).message);
  const where = { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path };
  if (isConnectionLost(e)) {
    // The database went away under the request (restart, failover) and retrying on a fresh connection failed too.
    log.warn('database connection lost during a request', { ...where, error: e });
    return new TandemError('unavailable', 'the database is unreachable; try again shortly', { details: { retryAfter: 1 } });
  }
  log.error('unexpected error', { ...where, error: e });
  return new TandemError('internal', 'internal error (see the server log)');
}

export function errorMiddleware(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new TandemError('not_found', `no route for ${ctx.method} ${ctx.path}`);
      }
      if (ctx.status === 405 && !ctx.body) {
        // The router set Allow; keep it.
        throw new TandemError('method_not_allowed', `${ctx.method} is not allowed on ${ctx.path}`);
      }
    } catch (e) {
      const err = toTandemError(e, log, ctx);
      sendError(ctx, err);
      if (err.status >= 500 && err.code !== 'internal') log.warn('request failed', { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, code: err.code, message: err.message });
    }
  };
}
