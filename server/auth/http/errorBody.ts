/** Turn errors into `{error:{code,message,field?}}` answers for the auth routes. */
import type Koa from 'koa';
import { TandemError, isTandemError } from '../../errors.js';
import type { Logger } from '../../log.js';

export function sendError(ctx: Koa.Context, err: TandemError): void {
  ctx.status = err.status;
  ctx.body = err.toJSON();
  if (err.status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="tandem"');
}

export function errorMiddleware(log: Logger): Koa.Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (e) {
      if (isTandemError(e)) return sendError(ctx, e);
      log.error('unexpected error in an auth route', { path: ctx.path, err: e as Error });
      sendError(ctx, new TandemError('internal', 'internal error'));
    }
  };
}
