/**
 * The authentication and authorization contract the HTTP app uses:
 *
 *   app.use(authenticate(deps));          // sets ctx.state.principal; 401 for /api/* without credentials
 *   app.use(authRoutes(deps).routes());   // /login, /auth/login, /auth/logout, /api/v1/me, /api/v1/tokens, /api/v1/audit
 *   authorize(ctx, 'run', { type: 'job', project: 'ops', job: { name: 'deploy' } });  // in each handler; 403 when denied
 *
 * Pass the same `deps` object to authenticate and authRoutes so they share
 * one throttle and one set of policies.
 */
export type { Principal } from './principal.js';
export type { Action, Resource } from './acl/types.js';
export type { AuthDeps } from './service.js';
export { authenticate } from './http/authenticate.js';
export { authorize, authorizeAny, authorizeNamed } from './http/authorize.js';
export { authRoutes } from './http/routes.js';
