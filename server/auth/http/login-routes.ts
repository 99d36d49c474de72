/** GET /login (form), POST /auth/login (form or JSON), POST /auth/logout. */
import type Router from '@koa/router';
import type Koa from 'koa';
import { TandemError, isTandemError } from '../../errors.js';
import { auditToDb } from '../audit.js';
import { auditFor, passwordLogin } from '../login.js';
import { withSiteLocalWrite } from '../sql/transaction.js';
import { authState, requireService } from '../principal.js';
import { csrfMatches, setSessionCookie } from '../sessions.js';
import { deleteSession } from '../sql/delete-session.js';
import { deleteLocalSession } from '../sql/delete-local-session.js';
import { assertAuthWritable, loginPlace } from '../site-writes.js';
import { bodyLimits, readJsonOrForm, optString } from '../../http/body.js';
import { LOGIN_PAGE_CSP, loginPage, safeNext } from './login-page.js';
import { clientAddress, isSameOrigin } from './request.js';
import { sendError } from '../../http/errors.js';

function retryAfter(ctx: Koa.Context, e: TandemError) {
  const s = e.details?.retryAfter;
  if (typeof s === 'number') ctx.set('Retry-After', String(s));
}

export function mountLoginRoutes(router: Router): void {
  router.get('/login', (ctx) => {
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', LOGIN_PAGE_CSP);
    ctx.body = loginPage({ next: typeof ctx.query.next === 'string' ? ctx.query.next : undefined });
  });

  router.post('/auth/login', async (ctx) => {
    const svc = requireService(ctx);
    const trustProxy = svc.config.server.trustProxy;
    const { kind, data } = await readJsonOrForm(ctx, bodyLimits(svc.config.server));
    // Login CSRF: a browser posting from another site sends its Origin; refuse it.
    const origin = ctx.get('origin');
    if (origin && !isSameOrigin(ctx, trustProxy)) throw new TandemError('csrf_failed', 'login from another site refused');
    const username = optString(data, 'username', 100_000) ?? '';
    const password = optString(data, 'password', 100_000) ?? '';
    const next = safeNext(data.next);
    const addr = authState(ctx).clientAddr ?? clientAddress(ctx, trustProxy);
    try {
      // A site that is not active cannot write the replicated session table nor the audit table:
      // its logins get a read-only session kept on this site, their audit events go to the server log.
      const { identity, session } = await passwordLogin(svc, username, password, addr);
      setSessionCookie(ctx, svc.config, session.cookieValue);
      ctx.set('Cache-Control', 'no-store');
      if (kind === 'form') {
        ctx.status = 303;
        ctx.redirect(next);
        return;
      }
      ctx.body = {
        user: identity.user,
        roles: identity.roles,
        groups: identity.groups,
        csrfToken: session.csrfToken,
        // Kept on this site only, for looking: every change made with it is refused.
        ...(session.place.store === 'site' ? { readOnly: true, siteRole: session.place.siteRole } : {}),
      };
    } catch (e) {
      if (!isTandemError(e)) throw e;
      retryAfter(ctx, e);
      if (kind === 'form') {
        ctx.status = e.status;
        ctx.type = 'html';
        ctx.set('Content-Security-Policy', LOGIN_PAGE_CSP);
        const wait = e.details?.retryAfter;
        ctx.body = loginPage({ next, error: e.message, username, retryAfterSeconds: typeof wait === 'number' ? wait : undefined });
        return;
      }
      sendError(ctx, e);
    }
  });

  router.post('/auth/logout', async (ctx) => {
    const svc = requireService(ctx);
    const state = authState(ctx);
    const p = state.principal;
    const { kind, data } = await readJsonOrForm(ctx, bodyLimits(svc.config.server));
    if (p?.via === 'session' && p.sessionId) {
      const site = p.sessionStore === 'site';
      // A replicated session can only be ended where the replicated table can be written (the active site).
      if (!site) await assertAuthWritable(svc.pool);
      const given = ctx.get('x-csrf-token') || optString(data, '_csrf');
      if (!csrfMatches(state.csrfToken ?? '', given) && !isSameOrigin(ctx, svc.config.server.trustProxy))
        throw new TandemError('csrf_failed', 'missing or wrong CSRF token for logout');
      const event = { event: 'logout', outcome: 'success' as const, username: p.user, clientAddr: state.clientAddr ?? null };
      if (site) {
        const id = p.sessionId;
        await withSiteLocalWrite(svc.pool, (c) => deleteLocalSession(c, id));
        await auditFor(svc, await loginPlace(svc.pool))({ ...event, details: { session: 'site-local' } });
      } else {
        await deleteSession(svc.pool, p.sessionId);
        await auditToDb(svc.pool)(event);
      }
    }
    setSessionCookie(ctx, svc.config, null);
    if (kind === 'form') {
      ctx.status = 303;
      ctx.redirect('/login');
    } else ctx.status = 204;
  });
}
