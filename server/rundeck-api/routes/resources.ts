/**
 * `project/P/resources` and `project/P/resource/NAME`: the project's node
 * model (server/nodes/README.md: sources merged, cached, last good nodes) in
 * Rundeck's `resourcejson` shape, a map node name → attributes, each value a
 * string and `tags` one comma-separated string, as Rundeck's JSON resource
 * generator writes them. `filter` is Rundeck's node filter (server/nodes/filter.ts;
 * none means every node). ACL: `read` on `node` in the project, as
 * `/api/v1/projects/P/nodes`.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { authorize } from '../../auth/middleware.js';
import { TandemError } from '../../errors.js';
import type { AppDeps } from '../../http/deps.js';
import { mustGetProject } from '../../http/lookup.js';
import type { NodeCatalog } from '../../nodes/catalog.js';
import { compileNodeFilter } from '../../nodes/filter.js';
import type { NodeEntry } from '../../nodes/node-executor.js';
import { rundeckError } from '../errors.js';
import { qlist, qs } from '../request.js';

/** Tandem answers resourcejson only; another `format` is refused rather than answered in JSON unasked. */
function jsonFormatOnly(ctx: Koa.Context): void {
  const format = qs(ctx, 'format');
  if (format !== undefined && format !== 'json' && format !== 'resourcejson') {
    throw rundeckError('unsupported_media_type', 'api.error.item.unsupported-format', `The format is not valid: ${format}: Tandem answers resources as json (resourcejson) only`);
  }
}

function catalogOf(deps: AppDeps): NodeCatalog {
  if (!deps.nodes) throw new TandemError('unavailable', 'node models are not available on this server');
  return deps.nodes;
}

/** One node as Rundeck's resourcejson writes it: `nodename` first, every attribute a string, `tags` joined with ", ". */
export function resourceView(n: NodeEntry): Record<string, string> {
  return { nodename: n.name, ...n.attributes, tags: n.tags.join(', ') };
}

export function mountResourceRoutes(router: Router, deps: AppDeps, heavy: Koa.Middleware): void {
  router.get('/project/:project/resources', heavy, async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorize(ctx, 'read', { type: 'node', project: project.name });
    jsonFormatOnly(ctx);
    // Rundeck accepts the filter repeated too; its parts are one filter.
    const filter = qlist(ctx, 'filter')?.join(' ') ?? '.*';
    const test = compileNodeFilter(filter);
    const model = await catalogOf(deps).get(project.name);
    const out: Record<string, Record<string, string>> = {};
    for (const n of model.nodes) if (test(n)) out[n.name] = resourceView(n);
    ctx.body = out;
  });

  router.get('/project/:project/resource/:name', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorize(ctx, 'read', { type: 'node', project: project.name });
    jsonFormatOnly(ctx);
    const name = ctx.params.name!;
    const node = (await catalogOf(deps).get(project.name)).nodes.find((n) => n.name === name);
    if (!node) throw rundeckError('not_found', 'api.error.item.doesnotexist', `Node does not exist: ${name} in project ${project.name}`);
    ctx.body = { [node.name]: resourceView(node) };
  });
}
