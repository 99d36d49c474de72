/**
 * Headers every answer carries, set before the handler runs so that error
 * answers have them too:
 *
 * - `X-Content-Type-Options: nosniff`: a browser never guesses a type (a
 *   job export or a log read as HTML would run a user's text as a page);
 * - frame protection, old and new (`X-Frame-Options: DENY`, CSP
 *   `frame-ancestors 'none'`): no page of Tandem can be framed (clickjacking);
 * - on the API and auth routes, `Cache-Control: no-store` unless the handler
 *   says otherwise: answers are per caller and may hold secrets (a new API
 *   token, an export with secure option defaults), so neither a browser nor
 *   a proxy keeps them.
 *
 * The login page sets its own, stricter policy (auth/http/login-page.ts).
 */
import type Koa from 'koa';

export const FRAME_POLICY = "frame-ancestors 'none'";

function isPrivate(path: string): boolean {
  return path.startsWith('/api/') || path === '/api' || path.startsWith('/auth/');
}

export function securityHeaders(): Koa.Middleware {
  return async (ctx, next) => {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('X-Frame-Options', 'DENY');
    ctx.set('Content-Security-Policy', FRAME_POLICY);
    if (isPrivate(ctx.path)) ctx.set('Cache-Control', 'no-store');
    await next();
  };
}
