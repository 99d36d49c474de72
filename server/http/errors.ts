/**
 * Every failure leaves as `{error:{code,message,field?}}` with its status:
 * TandemErrors as they are, Koa/http-errors (e.g. a malformed URL) by their
 * status, anything else as a logged 500 without internals in the body.
 */
import type Koa from 'koa';
import { TandemError, isTandemError, type ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { isConnectionLost } from '../sql/tx.js';

const byStatus: Record<number, ErrorCode> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'too_many_requests',
  503: 'unavailable',
};

export function errorMiddleware(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new TandemError('not_found', `no route for ${ctx.method} ${ctx.path}`);
      }
      if (ctx.status === 405 && !ctx.body) {
        ctx.body = { error: { code: 'method_not_allowed', message: `${ctx.method} is not allowed on ${ctx.path}` } };
      }
    } catch (e) {
      let err: TandemError;
      if (isTandemError(e)) err = e;
      else {
        const status = (e as { status?: number; expose?: boolean }).status;
        if (status && status < 500 && byStatus[status]) err = new TandemError(byStatus[status]!, (e as Error).message);
        else if (isConnectionLost(e)) {
          // The database went away under the request (restart, failover) and retrying on a fresh connection failed too.
          log.warn('database connection lost during a request', { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, error: e });
          err = new TandemError('unavailable', 'the database is unreachable; try again shortly');
        } else {
          log.error('unexpected error', { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, error: e });
          err = new TandemError('internal', 'internal error (see the server log)');
        }
      }
      ctx.status = err.status;
      ctx.body = err.toJSON();
      if (err.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="tandem"');
      if (err.status >= 500 && err.code !== 'internal') log.warn('request failed', { requestId: ctx.state.requestId, method: ctx.method, path: ctx.path, code: err.code, message: err.message });
    }
  };
}
