import type Router from '@koa/router';
import { authorize, authorizeAny, authorizeNamed } from '../../auth/middleware.js';
import { requirePrincipal, requireService } from '../../auth/principal.js';
import { TandemError } from '../../errors.js';
import { listProjects } from '../../projects/sql/list-projects.js';
import { bodyLimits, readJsonObject } from '../body.js';
import type { AppDeps } from '../deps.js';
import { mustGetProject, projectNotFound } from '../lookup.js';
import { createProject, removeProject, validProjectName } from '../project-ops.js';
import { projectView } from '../views.js';

export function mountProjectRoutes(router: Router, deps: AppDeps): void {
  router.get('/api/v1/projects', async (ctx) => {
    const principal = requirePrincipal(ctx);
    const policies = requireService(ctx).policies;
    // Only the projects the caller may read are listed (no audit denial for each of the others).
    const all = await listProjects(deps.pool);
    ctx.body = { projects: all.filter((p) => policies.decide(principal, 'read', { type: 'project', project: p.name }).allowed).map(projectView) };
  });

  router.post('/api/v1/projects', async (ctx) => {
    // Before the body is read: may the caller create any project at all?
    authorizeAny(ctx, ['create'], { type: 'project' });
    const body = await readJsonObject(ctx, bodyLimits(deps.config.server));
    const name = validProjectName(body.name);
    if (body.description !== undefined && typeof body.description !== 'string') {
      throw new TandemError('validation_failed', 'description must be a string', { field: 'description' });
    }
    authorize(ctx, 'create', { type: 'project', project: name });
    const user = requirePrincipal(ctx).user;
    const project = await createProject(deps, { name, description: (body.description as string | undefined) ?? '', user });
    ctx.status = 201;
    ctx.body = projectView(project);
  });

  router.get('/api/v1/projects/:project', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorizeNamed(ctx, 'read', { type: 'project', project: project.name }, () => projectNotFound(project.name));
    ctx.body = projectView(project);
  });

  router.delete('/api/v1/projects/:project', async (ctx) => {
    const name = ctx.params.project!;
    await mustGetProject(deps.pool, name);
    authorizeNamed(ctx, 'delete', { type: 'project', project: name }, () => projectNotFound(name));
    await removeProject(deps, name);
    ctx.status = 204;
  });
}
