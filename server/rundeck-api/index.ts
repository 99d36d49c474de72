/**
 * Rundeck's API beside Tandem's own: `/api/N/...` for N from 14 to 59, a thin
 * mapping onto the same operations, authentication, ACL, audit and site
 * guard as `/api/v1` (see README.md for the endpoint table and what differs).
 *
 *   app.use(rundeck.edge);    // outside the error middleware: versions, credentials, error shape
 *   app.use(rundeck.routes);  // after authenticate: the endpoints and /j_security_check
 */
import Router from '@koa/router';
import type Koa from 'koa';
import type { AppDeps } from '../http/deps.js';
import { rundeckEdge } from './edge.js';
import { mountExecutionRoutes } from './routes/executions.js';
import { mountJobRoutes } from './routes/jobs.js';
import { mountLoginRoutes } from './routes/login.js';
import { mountProjectRoutes } from './routes/projects.js';
import { mountResourceRoutes } from './routes/resources.js';
import { rundeckStorage } from './routes/storage.js';
import { mountSystemRoutes } from './routes/system.js';
import { pathVersion } from './version.js';

/** `heavy`: the member's one heavy-request gate (server/http/heavy-requests.ts), shared with /api/v1, on lists, exports, imports and log reads. */
export function rundeckApi(deps: AppDeps, heavy: Koa.Middleware): { edge: Koa.Middleware; routes: Koa.Middleware } {
  const api = new Router({ prefix: '/api/:version' });
  mountSystemRoutes(api, deps);
  mountProjectRoutes(api, deps);
  mountJobRoutes(api, deps, heavy);
  mountExecutionRoutes(api, deps, heavy);
  mountResourceRoutes(api, deps, heavy);
  // storage/keys/... takes any depth of path, so it is matched before the router.
  const storage = rundeckStorage(deps);
  const apiRoutes = api.routes();
  const apiMethods = api.allowedMethods();
  const login = new Router();
  mountLoginRoutes(login, deps);
  const loginRoutes = login.routes();
  return {
    edge: rundeckEdge(),
    // Only numeric versions reach this router, so `/api/v1/...` never matches `/api/:version/...`.
    routes: async (ctx, next) => {
      if (pathVersion(ctx.path) === null) return loginRoutes(ctx as Parameters<typeof loginRoutes>[0], next);
      return storage(ctx, () => apiRoutes(ctx as Parameters<typeof apiRoutes>[0], () => apiMethods(ctx as Parameters<typeof apiMethods>[0], next)));
    },
  };
}
