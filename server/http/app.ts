/**
 * The Koa application. Placeholder of the foundation issue: health and system
 * info only; the job server issue adds the API.
 */
import Koa from 'koa';
import Router from '@koa/router';
import pg from 'pg';
import { version } from '../cli/main.js';

export interface AppDeps {
  pool: pg.Pool;
}

export function createApp(deps: AppDeps): Koa {
  const app = new Koa();
  const router = new Router();
  router.get('/health/live', (ctx) => {
    ctx.body = { status: 'ok' };
  });
  router.get('/health/ready', async (ctx) => {
    try {
      await deps.pool.query('select 1');
      ctx.body = { status: 'ok' };
    } catch (e) {
      ctx.status = 503;
      ctx.body = { error: { code: 'unavailable', message: `database unreachable: ${(e as Error).message}` } };
    }
  });
  router.get('/api/v1/system/info', (ctx) => {
    ctx.body = { name: 'tandem', version: version() };
  });
  app.use(router.routes()).use(router.allowedMethods());
  return app;
}
