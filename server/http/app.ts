/**
 * The Koa application: error answers, health checks, authentication, the
 * auth routes and the job server API (one router file per resource under
 * routes/). Every API route authorizes its action itself.
 */
import Koa from 'koa';
import Router from '@koa/router';
import { authenticate, authRoutes } from '../auth/middleware.js';
import type { AppDeps } from './deps.js';
import { errorMiddleware } from './errors.js';
import { heavyRequestGate } from './heavy-requests.js';
import { securityHeaders } from './security-headers.js';
import { mountExecutionRoutes } from './routes/executions.js';
import { mountJobRoutes } from './routes/jobs.js';
import { mountProjectRoutes } from './routes/projects.js';
import { mountSystemRoutes } from './routes/system.js';
import { mountNodeRoutes } from '../nodes/http/routes.js';
import { mountClusterRoutes } from '../cluster/http.js';
import { storageRoutes } from './routes/storage.js';
import { mountHostKeyRoutes } from './routes/ssh-host-keys.js';
import { mountSshSettingsRoutes } from './routes/ssh-settings.js';
import { healthRoutes } from './routes/health.js';
import { metricsEndpoint } from '../metrics/endpoint.js';
import { balancerGate } from '../site/balancer.js';
import { rundeckApi } from '../rundeck-api/index.js';
import { uiRoutes } from '../ui/serve.js';
import { defaultUiDir } from '../ui/assets.js';

export type { AppDeps } from './deps.js';

export function createApp(deps: AppDeps): Koa {
  const app = new Koa({ proxy: deps.config.server.trustProxy });
  // Outermost: times every request with its final status and gives it a request id.
  if (deps.metrics) app.use(deps.metrics.http.middleware(deps.log.child({ component: 'http' })));
  // Rundeck's API (/api/N/...): checks the version and maps its credentials before, and its error shape after, everything below.
  // One cap per member on lists, exports, imports and log reads (429 with Retry-After beyond it), for both APIs.
  const heavy = heavyRequestGate(deps.config.server.maxHeavyRequests).middleware;
  const rundeck = rundeckApi(deps, heavy);
  app.use(rundeck.edge);
  app.use(errorMiddleware(deps.log.child({ component: 'http' })));
  app.use(securityHeaders());
  app.use(healthRoutes(deps).routes());
  if (deps.metrics) app.use(metricsEndpoint(deps.metrics.registry));
  // Requests forwarded by the load balancer are answered by the active site only (server/site/balancer.ts).
  app.use(balancerGate({ pool: deps.pool, siteName: deps.config.site ?? null, monitor: deps.site, log: deps.log.child({ component: 'balancer' }) }));

  app.use(authenticate(deps.auth));
  const auth = authRoutes(deps.auth);
  app.use(auth.routes()).use(auth.allowedMethods());
  // The web UI (server/ui/): its pages and assets; everything it shows comes from the API below.
  app.use(uiRoutes({ dir: deps.config.ui.dir ?? defaultUiDir() }));
  app.use(storageRoutes(deps));

  const api = new Router();
  mountSystemRoutes(api, deps);
  mountClusterRoutes(api, deps);
  mountProjectRoutes(api, deps);
  mountJobRoutes(api, deps, heavy);
  mountExecutionRoutes(api, deps, heavy);
  mountNodeRoutes(api, deps);
  mountHostKeyRoutes(api, deps);
  mountSshSettingsRoutes(api, deps);
  app.use(api.routes()).use(api.allowedMethods());
  app.use(rundeck.routes);
  return app;
}
