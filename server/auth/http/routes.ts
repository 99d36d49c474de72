/** The auth routes, as one router the app mounts (after `authenticate`). */
import Router from '@koa/router';
import { authService, type AuthDeps } from '../service.js';
import { mountLoginRoutes } from './loginRoutes.js';
import { mountMeRoute } from './meRoute.js';
import { mountTokenRoutes } from './tokenRoutes.js';
import { mountAuditRoute } from './auditRoute.js';

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
