/**
 * A project's SSH settings (server/nodes/ssh/README.md): read them (project
 * read), replace them (project update). Values are checked when set.
 */
import type Router from '@koa/router';
import { authorize } from '../../auth/middleware.js';
import { requirePrincipal } from '../../auth/principal.js';
import { assertWritable } from '../../site/guard.js';
import { withTransaction } from '../../db/tx.js';
import { validateProjectSettings } from '../../nodes/ssh/settings.js';
import { getProjectSshSettings } from '../../nodes/ssh/sql/get-project-ssh-settings.js';
import { putProjectSshSettings } from '../../nodes/ssh/sql/put-project-ssh-settings.js';
import { bodyLimits, readJsonObject } from '../body.js';
import type { AppDeps } from '../deps.js';
import { mustGetProject } from '../lookup.js';

export function mountSshSettingsRoutes(router: Router, deps: AppDeps): void {
  router.get('/api/v1/projects/:project/ssh/settings', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorize(ctx, 'read', { type: 'project', project: project.name });
    ctx.body = { settings: await getProjectSshSettings(deps.pool, project.name) };
  });

  router.put('/api/v1/projects/:project/ssh/settings', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorize(ctx, 'update', { type: 'project', project: project.name });
    const body = await readJsonObject(ctx, bodyLimits(deps.config.server));
    const settings = validateProjectSettings((body.settings ?? body) as Record<string, unknown>);
    await withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      await putProjectSshSettings(c, project.id, settings, requirePrincipal(ctx).user);
    });
    ctx.body = { settings };
  });
}
