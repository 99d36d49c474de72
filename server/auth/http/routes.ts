/** The auth routes, as one router the app mounts (after `authenticate`). */
import Router from '@koa/router';
import { authService, type AuthDeps } from '../service.js';
import { errorMiddleware } from './errorBody.js';
import { mountLoginRoutes } from './loginRoutes.js';
import { mountMeRoute } from './meRoute.js';
import { mountTokenRoutes } from './tokenRoutes.js';
import { mountAuditRoute } from './auditRoute.js';

export function authRoutes(deps: AuthDeps): Router {
  const svc = authService(deps);
  const router = new Router();
  router.use(errorMiddleware(svc.log));
  mountLoginRoutes(router);
  mountMeRoute(router);
  mountTokenRoutes(router);
  mountAuditRoute(router);
  return router;
}
