/** GET /login (form), POST /auth/login (form or JSON), POST /auth/logout. */
import type Router from '@koa/router';
import type Koa from 'koa';
import { TandemError, isTandemError } from '../../errors.js';
import { recordAudit } from '../audit.js';
import { checkLogin, recordLogin } from '../login.js';
import { cleanupSessions } from '../service.js';
import { withTransaction } from '../sql/transaction.js';
import { authState, requireService } from '../principal.js';
import { createSession, csrfMatches, setSessionCookie } from '../sessions.js';
import { deleteSession } from '../sql/deleteSession.js';
import { assertAuthWritable } from '../siteWrites.js';
import { readBody, optString } from './body.js';
import { loginPage, safeNext } from './loginPage.js';
import { clientAddress, isSameOrigin } from './request.js';
import { sendError } from './errorBody.js';

function retryAfter(ctx: Koa.Context, e: TandemError) {
  const s = e.details?.retryAfter;
  if (typeof s === 'number') ctx.set('Retry-After', String(s));
}

export function mountLoginRoutes(router: Router): void {
  router.get('/login', (ctx) => {
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = loginPage({ next: typeof ctx.query.next === 'string' ? ctx.query.next : undefined });
  });

  router.post('/auth/login', async (ctx) => {
    const svc = requireService(ctx);
    const trustProxy = svc.config.server.trustProxy;
    const { kind, data } = await readBody(ctx, svc.config.server.bodyLimit);
    // Login CSRF: a browser posting from another site sends its Origin; refuse it.
    const origin = ctx.get('origin');
    if (origin && !isSameOrigin(ctx, trustProxy)) throw new TandemError('csrf_failed', 'login from another site refused');
    const username = optString(data, 'username', 100_000) ?? '';
    const password = optString(data, 'password', 100_000) ?? '';
    const next = safeNext(data.next);
    const addr = authState(ctx).clientAddr ?? clientAddress(ctx, trustProxy);
    try {
      // A passive site cannot write the session (nor the audit row): send the user to the active site.
      await assertAuthWritable(svc.pool);
      const identity = await checkLogin(svc, username, password, addr);
      // Session, profile and audit row in one transaction: one commit, and never a session without its audit row.
      const session = await withTransaction(svc.pool, svc.log, async (tx) => {
        const created = await createSession(tx, svc.config.auth, identity, addr);
        await recordLogin(tx, svc, identity, addr);
        return created;
      });
      await cleanupSessions(svc);
      setSessionCookie(ctx, svc.config, session.cookieValue);
      ctx.set('Cache-Control', 'no-store');
      if (kind === 'form') {
        ctx.status = 303;
        ctx.redirect(next);
        return;
      }
      ctx.body = { user: identity.user, roles: identity.roles, groups: identity.groups, csrfToken: session.csrfToken };
    } catch (e) {
      if (!isTandemError(e)) throw e;
      retryAfter(ctx, e);
      if (kind === 'form') {
        ctx.status = e.status;
        ctx.type = 'html';
        ctx.body = loginPage({ next, error: e.message, username });
        return;
      }
      sendError(ctx, e);
    }
  });

  router.post('/auth/logout', async (ctx) => {
    const svc = requireService(ctx);
    const state = authState(ctx);
    const p = state.principal;
    const { kind, data } = await readBody(ctx, svc.config.server.bodyLimit);
    if (p?.via === 'session' && p.sessionId) {
      await assertAuthWritable(svc.pool);
      const given = ctx.get('x-csrf-token') || optString(data, '_csrf');
      if (!csrfMatches(state.csrfToken ?? '', given) && !isSameOrigin(ctx, svc.config.server.trustProxy))
        throw new TandemError('csrf_failed', 'missing or wrong CSRF token for logout');
      await deleteSession(svc.pool, p.sessionId);
      await recordAudit(svc.pool, { event: 'logout', outcome: 'success', username: p.user, clientAddr: state.clientAddr ?? null });
    }
    setSessionCookie(ctx, svc.config, null);
    if (kind === 'form') {
      ctx.status = 303;
      ctx.redirect('/login');
    } else ctx.status = 204;
  });
}
