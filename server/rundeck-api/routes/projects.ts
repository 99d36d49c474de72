/** `projects`, `project/P` (GET, DELETE), `project/P/config` (GET). */
import type Router from '@koa/router';
import { authorize, authorizeNamed } from '../../auth/middleware.js';
import { requirePrincipal, requireService } from '../../auth/principal.js';
import { TandemError } from '../../errors.js';
import type { AppDeps } from '../../http/deps.js';
import { mustGetProject, projectNotFound } from '../../http/lookup.js';
import { createProject, removeProject, validProjectName } from '../../http/project-ops.js';
import { listProjects } from '../../projects/sql/list-projects.js';
import { rundeckError } from '../errors.js';
import { links, objectBody, readBody } from '../request.js';
import { projectConfig, projectView } from '../views.js';

export function mountProjectRoutes(router: Router, deps: AppDeps): void {
  router.get('/projects', async (ctx) => {
    const principal = requirePrincipal(ctx);
    const policies = requireService(ctx).policies;
    const l = links(ctx, deps);
    const all = await listProjects(deps.pool);
    ctx.body = all.filter((p) => policies.decide(principal, 'read', { type: 'project', project: p.name }).allowed).map((p) => projectView(l, p));
  });

  /** `{name, description?, config?: {"project.description": ...}}`; other config keys are refused (Tandem has no project properties). */
  router.post('/projects', async (ctx) => {
    const body = objectBody(await readBody(ctx, deps));
    const name = validProjectName(body.name);
    const config = body.config === undefined || body.config === null ? {} : body.config;
    if (typeof config !== 'object' || Array.isArray(config)) throw new TandemError('validation_failed', 'config must be an object', { field: 'config' });
    const unknown = Object.keys(config).filter((k) => k !== 'project.description' && k !== 'project.name');
    if (unknown.length) throw new TandemError('validation_failed', `unsupported project configuration: ${unknown.join(', ')} (Tandem projects have a name and a description)`, { field: 'config' });
    const description = (config as Record<string, unknown>)['project.description'] ?? body.description ?? '';
    if (typeof description !== 'string') throw new TandemError('validation_failed', 'description must be a string', { field: 'description' });
    authorize(ctx, 'create', { type: 'project', project: name });
    const project = await createProject(deps, { name, description, user: requirePrincipal(ctx).user }).catch((e) => {
      if (e instanceof TandemError && e.code === 'conflict') throw rundeckError('conflict', 'api.error.item.alreadyexists', `project already exists: ${name}`);
      throw e;
    });
    ctx.status = 201;
    ctx.body = projectView(links(ctx, deps), project, { config: true });
  });

  router.get('/project/:project', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorizeNamed(ctx, 'read', { type: 'project', project: project.name }, () => projectNotFound(project.name));
    ctx.body = projectView(links(ctx, deps), project, { config: true });
  });

  router.delete('/project/:project', async (ctx) => {
    const name = ctx.params.project!;
    await mustGetProject(deps.pool, name);
    authorizeNamed(ctx, 'delete', { type: 'project', project: name }, () => projectNotFound(name));
    await removeProject(deps, name);
    ctx.status = 204;
  });

  router.get('/project/:project/config', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorizeNamed(ctx, 'read', { type: 'project', project: project.name }, () => projectNotFound(project.name));
    ctx.body = projectConfig(project);
  });
}
