/**
 * Rundeck's password login for API clients: `POST /j_security_check` with the
 * form fields `j_username` and `j_password`. The same login as Tandem's form
 * (server/auth/login.ts `passwordLogin`: local users then LDAP, throttling,
 * audit, read-only site-local sessions on a site that is not active); the
 * session is handed out as Rundeck's `JSESSIONID` cookie, SameSite=Strict,
 * which the Rundeck API edge accepts (edge.ts).
 *
 * Like Rundeck (behind Jetty), success and failure are redirects: clients
 * tell them apart by the target: `/user/error` means the login failed
 * (rundeck-cli's FormAuthInterceptor), and clients that do not follow
 * redirects look for the JSESSIONID cookie in the answer (pyrundeck).
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { isSameOrigin, isHttps } from '../../auth/http/request.js';
import { passwordLogin } from '../../auth/login.js';
import { authState, requireService } from '../../auth/principal.js';
import { readText } from '../../http/body.js';
import { isTandemError } from '../../errors.js';
import type { AppDeps } from '../../http/deps.js';
import { RUNDECK_SESSION_COOKIE } from '../edge.js';

export const LOGIN_OK_PATH = '/user/loggedin';
export const LOGIN_ERROR_PATH = '/user/error';

function sessionCookie(ctx: Koa.Context, deps: AppDeps, value: string): void {
  const parts = [`${RUNDECK_SESSION_COOKIE}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.floor(deps.config.auth.sessionAbsoluteTimeout / 1000)}`];
  if (isHttps(ctx, deps.config.server.trustProxy)) parts.push('Secure');
  ctx.append('Set-Cookie', parts.join('; '));
}

export function mountLoginRoutes(router: Router, deps: AppDeps): void {
  router.post('/j_security_check', async (ctx) => {
    const svc = requireService(ctx);
    if (!ctx.is('application/x-www-form-urlencoded')) {
      ctx.status = 415;
      ctx.body = { error: { code: 'unsupported_media_type', message: 'send j_username and j_password as application/x-www-form-urlencoded' } };
      return;
    }
    const form = new URLSearchParams((await readText(ctx, deps.config.server.bodyLimit)).text);
    ctx.set('Cache-Control', 'no-store');
    // Login CSRF: a browser posting from another site sends its Origin; refuse it (as /auth/login does).
    if (ctx.get('origin') && !isSameOrigin(ctx, deps.config.server.trustProxy)) return ctx.redirect(LOGIN_ERROR_PATH);
    const addr = authState(ctx).clientAddr ?? null;
    try {
      const { session } = await passwordLogin(svc, form.get('j_username') ?? '', form.get('j_password') ?? '', addr);
      sessionCookie(ctx, deps, session.cookieValue);
      ctx.redirect(LOGIN_OK_PATH);
    } catch (e) {
      if (!isTandemError(e)) throw e;
      const retry = e.details?.retryAfter;
      if (typeof retry === 'number') ctx.set('Retry-After', String(retry));
      ctx.redirect(LOGIN_ERROR_PATH);
    }
  });

  // The landing pages of those redirects (no session needed: they say only what happened).
  router.get(LOGIN_OK_PATH, (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'text/plain';
    ctx.body = 'Logged in.\n';
  });
  router.get(LOGIN_ERROR_PATH, (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'text/plain';
    ctx.body = 'Login failed: wrong user name or password, or too many attempts (see Retry-After).\n';
  });
}
