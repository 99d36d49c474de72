/** The auth routes, as one router the app mounts (after `authenticate`). */
import Router from '@koa/router';
import { authService, type AuthDeps } from '../service.js';
import { mountLoginRoutes } from './login-routes.js';
import { mountMeRoute } from './me-route.js';
import { mountTokenRoutes } from './token-routes.js';
import { mountAuditRoute } from './audit-route.js';

export function authRoutes(deps: AuthDeps): Router {
  // Make the service now (policies loaded, throttles built), not at the first request; errors leave by the app's one error exit.
  authService(deps);
  const router = new Router();
  mountLoginRoutes(router);
  mountMeRoute(router);
  mountTokenRoutes(router);
  mountAuditRoute(router);
  return router;
}
