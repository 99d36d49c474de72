/** GET /api/v1/me: who am I, with which roles and groups. */
import type Router from '@koa/router';
import { authState, requirePrincipal } from '../principal.js';

export function mountMeRoute(router: Router): void {
  router.get('/api/v1/me', (ctx) => {
    const p = requirePrincipal(ctx);
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      user: p.user,
      roles: p.roles,
      groups: p.groups,
      via: p.via,
      ...(p.tokenId ? { tokenId: p.tokenId } : {}),
      // The CSRF token a page must send (X-CSRF-Token) with cookie-authenticated changes.
      ...(p.via === 'session' ? { csrfToken: authState(ctx).csrfToken } : {}),
      // A session opened on a site that was not active: for looking only.
      ...(p.sessionStore === 'site' ? { readOnly: true } : {}),
    };
  });
}
