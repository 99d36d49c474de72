import type Router from '@koa/router';
import { authorize, authorizeAny, authorizeNamed } from '../../auth/middleware.js';
import { requirePrincipal, requireService } from '../../auth/principal.js';
import { TandemError } from '../../errors.js';
import { assertWritable } from '../../site/guard.js';
import { countActiveExecutions } from '../../executions/sql/count-active-executions.js';
import { deleteProject } from '../../projects/sql/delete-project.js';
import { insertProject } from '../../projects/sql/insert-project.js';
import { listProjects } from '../../projects/sql/list-projects.js';
import { isUniqueViolation, withTransaction } from '../../db/tx.js';
import { bodyLimits, readJsonObject } from '../body.js';
import type { AppDeps } from '../deps.js';
import { mustGetProject, projectNotFound } from '../lookup.js';
import { projectView } from '../views.js';

// Not only dots: ".", ".." and "..." would be path segments in log keys and URLs.
const NAME = /^(?!\.+$)[A-Za-z0-9_.-]{1,100}$/;

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
    const name = body.name;
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new TandemError('validation_failed', 'name: 1 to 100 letters, digits, "_", "." or "-", not only dots', { field: 'name' });
    }
    if (body.description !== undefined && typeof body.description !== 'string') {
      throw new TandemError('validation_failed', 'description must be a string', { field: 'description' });
    }
    authorize(ctx, 'create', { type: 'project', project: name });
    const user = requirePrincipal(ctx).user;
    const project = await withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      try {
        return await insertProject(c, { name, description: (body.description as string | undefined) ?? '', createdBy: user });
      } catch (e) {
        if (isUniqueViolation(e)) throw new TandemError('conflict', `project ${name} already exists`, { field: 'name' });
        throw e;
      }
    });
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
    await withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      // Lock the project row so no execution starts between the check and the delete.
      const p = await mustGetProject(c, name, { forUpdate: true });
      const active = await countActiveExecutions(c, p.id);
      if (active) throw new TandemError('conflict', `project ${name} has ${active} queued or running execution(s); abort them or wait`);
      await deleteProject(c, p.id);
    });
    ctx.status = 204;
  });
}
