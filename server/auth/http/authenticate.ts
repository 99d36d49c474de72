/**
 * Authentication middleware. Sets ctx.state.principal from an
 * `Authorization: Bearer` API token or the session cookie. Requests under
 * /api/ without valid credentials get 401; other paths (the login page,
 * /auth/*, health checks) pass through unauthenticated. Cookie-authenticated
 * requests that change state must carry the session's CSRF token in
 * `X-CSRF-Token` or come from a same-origin page (checked Origin header);
 * token-authenticated requests need neither (browsers do not add tokens).
 * A session that came in the Rundeck API's SameSite=Strict JSESSIONID cookie
 * (server/rundeck-api/edge.ts) needs neither: browsers never send it cross-site.
 */
import type pg from 'pg';
import type Koa from 'koa';
import { TandemError } from '../../errors.js';
import { authService, type AuthDeps } from '../service.js';
import { checkToken } from '../tokens.js';
import { touchToken } from '../sql/touch-token.js';
import { SESSION_COOKIE, csrfMatches, findSession, sessionNeedsTouch, touchLiveSession } from '../sessions.js';
import { bookkeepingWrite, siteLocalBookkeeping, siteSessionWriteError } from '../site-writes.js';
import { authState } from '../principal.js';
import { clientAddress, isSameOrigin } from './request.js';
import { sendError } from '../../http/errors.js';
import { auditChange } from './audit-changes.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function isApi(path: string): boolean {
  return path === '/api' || path.startsWith('/api/');
}

export function authenticate(deps: AuthDeps): Koa.Middleware {
  const svc = authService(deps);
  const trustProxy = deps.config.server.trustProxy;
  return async (ctx, next) => {
    const state = authState(ctx);
    state.auth = svc;
    state.clientAddr = clientAddress(ctx, trustProxy);
    const api = isApi(ctx.path);
    // Authenticated: run the handler, then audit what it changed.
    const proceed = async () => {
      await next();
      if (api && !SAFE_METHODS.has(ctx.method)) await auditChange(ctx, svc);
    };
    const refuse = (message: string) => {
      if (api) sendError(ctx, new TandemError('unauthorized', message));
      return api;
    };

    const header = ctx.get('authorization');
    if (header) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m) {
        if (refuse('unsupported Authorization header: send "Authorization: Bearer TOKEN"')) return;
        return next();
      }
      const check = await checkToken(svc.pool, m[1]!);
      if (!check.ok) {
        if (refuse(`invalid API token (${check.reason})`)) return;
        return next();
      }
      state.principal = { user: check.token.username, roles: check.roles, groups: check.groups, via: 'token', tokenId: check.token.id };
      const last = check.token.lastUsedAt;
      if (!last || Date.now() - last.getTime() >= 60_000) await bookkeepingWrite(svc.pool, svc.log, 'token use', (c) => touchToken(c, check.token.id));
      return proceed();
    }

    const cookie = ctx.cookies.get(SESSION_COOKIE);
    if (cookie) {
      const s = await findSession(svc.pool, deps.config.auth, cookie);
      if (s) {
        if (sessionNeedsTouch(s, deps.config.auth)) {
          // A site-local session lives in this site's own table, writable whatever the site's role.
          const touch = (db?: pg.PoolClient) => touchLiveSession(svc.pool, deps.config.auth, s, db);
          await (s.store === 'site' ? siteLocalBookkeeping(svc.log, 'session use', touch) : bookkeepingWrite(svc.pool, svc.log, 'session use', touch));
        }
        const changes = api && !SAFE_METHODS.has(ctx.method);
        if (changes && !state.strictSessionCookie && !csrfMatches(s.csrfToken, ctx.get('x-csrf-token') || undefined) && !isSameOrigin(ctx, trustProxy)) {
          return sendError(
            ctx,
            new TandemError('csrf_failed', 'missing or wrong CSRF token: send the X-CSRF-Token header (from /api/v1/me) with cookie-authenticated changes'),
          );
        }
        // A session opened while this site was not active only reads, whatever the route and whatever the site's role now.
        if (changes && s.store === 'site') return sendError(ctx, await siteSessionWriteError(svc.pool));
        state.principal = { user: s.username, roles: s.roles, groups: s.groups, via: 'session', sessionId: s.idHash, sessionStore: s.store };
        state.csrfToken = s.csrfToken;
        return proceed();
      }
      if (refuse('session expired or unknown: log in again at /login')) return;
      return next();
    }

    if (refuse('authentication required: send Authorization: Bearer TOKEN or log in at /login')) return;
    return next();
  };
}
