/**
 * Node API (server/nodes/README.md):
 * - `GET  /api/v1/projects/:project/sources`: the ordered source list and each source's state (ACL project configure);
 * - `PUT  /api/v1/projects/:project/sources`: `{sources: [...]}` replaces the list, then the model is read again;
 * - `GET  /api/v1/projects/:project/nodes?filter=...`: the matching nodes with attributes (ACL node read);
 * - `POST /api/v1/projects/:project/nodes/refresh`: read every source now (ACL node read).
 */
import type Router from '@koa/router';
import { authorize } from '../../auth/middleware.js';
import { requirePrincipal } from '../../auth/principal.js';
import { TandemError } from '../../errors.js';
import { bodyLimits, readJsonObject } from '../../http/body.js';
import type { AppDeps } from '../../http/deps.js';
import { mustGetProject } from '../../http/lookup.js';
import { assertWritable } from '../../site/guard.js';
import { withTransaction } from '../../db/tx.js';
import type { NodeCatalog, ProjectModel } from '../catalog.js';
import { compileNodeFilter } from '../filter.js';
import type { NodeEntry } from '../node-executor.js';
import { readSourceSpecs } from '../sources.js';
import { getNodeSources } from '../sql/get-node-sources.js';
import { putNodeSources } from '../sql/put-node-sources.js';

function catalogOf(deps: AppDeps): NodeCatalog {
  if (!deps.nodes) throw new TandemError('unavailable', 'node models are not available on this server');
  return deps.nodes;
}

const nodeView = (n: NodeEntry) => ({ name: n.name, tags: n.tags, attributes: n.attributes });

function sourceStates(m: ProjectModel) {
  return m.sources.map((s) => ({ ...s, lastReadAt: s.lastReadAt?.toISOString() ?? null, lastGoodAt: s.lastGoodAt?.toISOString() ?? null }));
}

export function mountNodeRoutes(router: Router, deps: AppDeps): void {
  router.get('/api/v1/projects/:project/sources', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorize(ctx, 'configure', { type: 'project', project: project.name });
    const stored = await getNodeSources(deps.pool, project.id);
    const model = await catalogOf(deps).get(project.name);
    ctx.body = { project: project.name, version: stored?.version ?? 0, sources: stored?.sources ?? [], state: sourceStates(model) };
  });

  router.put('/api/v1/projects/:project/sources', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorize(ctx, 'configure', { type: 'project', project: project.name });
    const body = await readJsonObject(ctx, bodyLimits(deps.config.server));
    const sources = readSourceSpecs(body.sources, deps.config.nodes.sourcePaths);
    const user = requirePrincipal(ctx).user;
    const stored = await withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      return putNodeSources(c, project.id, sources, user);
    });
    // Committed first, then read: a failing source is reported in `state`, the list is saved either way.
    const model = await catalogOf(deps).refresh(project.name);
    ctx.body = { project: project.name, version: stored.version, sources: stored.sources, state: sourceStates(model) };
  });

  router.get('/api/v1/projects/:project/nodes', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorize(ctx, 'read', { type: 'node', project: project.name });
    const raw = ctx.query.filter;
    const filter = (Array.isArray(raw) ? raw.join(' ') : raw) || '.*';
    const test = compileNodeFilter(filter);
    const model = await catalogOf(deps).get(project.name);
    const nodes = model.nodes.filter(test);
    ctx.body = {
      project: project.name,
      filter,
      total: nodes.length,
      nodes: nodes.map(nodeView),
      sources: sourceStates(model),
      refreshedAt: model.refreshedAt.toISOString(),
    };
  });

  router.post('/api/v1/projects/:project/nodes/refresh', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorize(ctx, 'read', { type: 'node', project: project.name });
    const model = await catalogOf(deps).refresh(project.name);
    ctx.body = { project: project.name, total: model.nodes.length, sources: sourceStates(model), refreshedAt: model.refreshedAt.toISOString() };
  });
}
