/**
 * Known SSH host keys of a project (server/nodes/README.md): list them
 * (project read) and remove one so that a rebuilt host's new key is accepted
 * (project update).
 */
import type Router from '@koa/router';
import { authorize } from '../../auth/middleware.js';
import { TandemError } from '../../errors.js';
import { assertWritable } from '../../site/guard.js';
import { withTransaction } from '../../db/tx.js';
import { deleteHostKey } from '../../nodes/ssh/sql/delete-host-key.js';
import type { AppDeps } from '../deps.js';
import { mustGetProject } from '../lookup.js';

export function mountHostKeyRoutes(router: Router, deps: AppDeps): void {
  router.get('/api/v1/projects/:project/ssh/host-keys', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorize(ctx, 'read', { type: 'project', project: project.name });
    const hostKeys = deps.hostKeys;
    if (!hostKeys) throw new TandemError('unavailable', 'SSH host keys are not available on this server');
    ctx.body = {
      hostKeys: (await hostKeys.list(project.name)).map((k) => ({
        host: k.host,
        node: k.node,
        keyType: k.keyType,
        fingerprint: k.fingerprint,
        publicKey: `${k.keyType} ${k.publicKey.toString('base64')}`,
        firstSeenAt: k.firstSeenAt.toISOString(),
        firstSeenExecution: k.firstSeenExecution,
      })),
    };
  });

  router.delete('/api/v1/projects/:project/ssh/host-keys/:host', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorize(ctx, 'update', { type: 'project', project: project.name });
    const host = ctx.params.host!;
    const removed = await withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      return deleteHostKey(c, project.name, host);
    });
    if (!removed) throw new TandemError('not_found', `no known host key for ${JSON.stringify(host)} in project ${project.name}`);
    ctx.status = 204;
  });
}
