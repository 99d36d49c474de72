/** Facts about a request that depend on whether a trusted proxy sits in front. */
import type Koa from 'koa';
import type { TLSSocket } from 'node:tls';

/**
 * The client's address. Behind a trusted proxy, the last X-Forwarded-For
 * entry (the one our proxy appended; earlier entries are whatever the client
 * sent and cannot be trusted).
 */
export function clientAddress(ctx: Koa.Context, trustProxy: boolean): string | null {
  if (trustProxy) {
    const xff = ctx.get('x-forwarded-for');
    const last = xff.split(',').map((s) => s.trim()).filter(Boolean).pop();
    if (last) return last;
  }
  return ctx.req.socket.remoteAddress ?? null;
}

/** Served over HTTPS, directly or (when trusted) according to the proxy. */
export function isHttps(ctx: Koa.Context, trustProxy: boolean): boolean {
  if ((ctx.req.socket as TLSSocket).encrypted) return true;
  return trustProxy && ctx.get('x-forwarded-proto').split(',')[0]!.trim().toLowerCase() === 'https';
}

/** The origin (scheme://host[:port]) this request was addressed to. */
export function requestOrigin(ctx: Koa.Context, trustProxy: boolean): string {
  const host = (trustProxy && ctx.get('x-forwarded-host').split(',')[0]!.trim()) || ctx.get('host');
  return `${isHttps(ctx, trustProxy) ? 'https' : 'http'}://${host}`;
}

/** True when the browser says the request comes from a page of this same site. */
export function isSameOrigin(ctx: Koa.Context, trustProxy: boolean): boolean {
  const origin = ctx.get('origin');
  return !!origin && origin !== 'null' && origin === requestOrigin(ctx, trustProxy);
}
