import type Router from '@koa/router';
import type Koa from 'koa';
import { authorizeNamed } from '../../auth/middleware.js';
import { requirePrincipal } from '../../auth/principal.js';
import { TandemError } from '../../errors.js';
import { readExecutionLog, REPLICATING_RETRY_S } from '../../logs/read-execution-log.js';
import { EXECUTION_STATUSES, isFinal } from '../../executions/status.js';
import { listExecutions } from '../../executions/sql/list-executions.js';
import { listStepResults } from '../../executions/sql/list-step-results.js';
import { bodyLimits, readJsonObject } from '../body.js';
import type { AppDeps } from '../deps.js';
import { abortExecution, runJob } from '../run-job.js';
import { enumParam, intParam, pageParams } from '../params.js';
import { executionNotFound, jobNotFound, jobResource, mustGetExecution, mustGetJob, mustGetProject, projectNotFound } from '../lookup.js';
import { executionView } from '../views.js';
import { listExecutionNodes } from '../../nodes/sql/list-execution-nodes.js';


function executionResource(e: { project: string; jobName: string; jobGroup: string }) {
  return { type: 'execution' as const, ...jobResource({ project: e.project, name: e.jobName, group: e.jobGroup }) };
}

export function mountExecutionRoutes(router: Router, deps: AppDeps, heavy: Koa.Middleware): void {
  /** Run a job: `{options: {...}}` → 201 with the (queued) execution. */
  router.post('/api/v1/jobs/:id/run', async (ctx) => {
    const job = await mustGetJob(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'run', { type: 'job', ...jobResource(job) }, () => jobNotFound(job.id));
    const body = await readJsonObject(ctx, bodyLimits(deps.config.server));
    const options = body.options ?? {};
    if (!options || typeof options !== 'object' || Array.isArray(options)) {
      throw new TandemError('invalid_option', 'options must be an object of option name to value', { field: 'options' });
    }
    const row = await runJob(deps, job, options as Record<string, unknown>, requirePrincipal(ctx), body.filter);
    ctx.status = 201;
    ctx.body = executionView(row);
  });

  router.get('/api/v1/projects/:project/executions', heavy, async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorizeNamed(ctx, 'read', { type: 'execution', project: project.name }, () => projectNotFound(project.name));
    const status = enumParam(ctx.query.status, 'status', EXECUTION_STATUSES);
    const { limit, offset } = pageParams(ctx.query, { ...deps.config.server, pageLimit: Math.min(20, deps.config.server.pageLimit) });
    const jobId = typeof ctx.query.jobId === 'string' && ctx.query.jobId ? ctx.query.jobId : undefined;
    const { rows, total } = await listExecutions(deps.pool, { projectId: project.id, status, jobId, limit, offset });
    ctx.body = { project: project.name, total, limit, offset, executions: rows.map((e) => executionView(e)) };
  });

  router.get('/api/v1/executions/:id', async (ctx) => {
    const e = await mustGetExecution(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'read', executionResource(e), () => executionNotFound(e.id));
    ctx.body = { ...executionView(e, await listStepResults(deps.pool, e.id)), ...(await listExecutionNodes(deps.pool, e.id)) };
  });

  /** Abort: a queued execution is closed at once; a running one is killed by the member running it. */
  router.post('/api/v1/executions/:id/abort', async (ctx) => {
    const e = await mustGetExecution(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'kill', executionResource(e), () => executionNotFound(e.id));
    const after = await abortExecution(deps, e, requirePrincipal(ctx).user);
    ctx.status = 202;
    ctx.body = executionView(after);
  });

  /** Log entries from a byte offset; `complete: true` once the log is sealed and fully read (stop tailing). */
  router.get('/api/v1/executions/:id/output', heavy, async (ctx) => {
    const e = await mustGetExecution(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'read', executionResource(e), () => executionNotFound(e.id));
    const offset = intParam(ctx.query.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    // At most server.maxLogChunk per answer: a larger ask is cut to it (the answer's nextOffset says where to go on).
    const chunk = deps.config.server.maxLogChunk;
    const maxBytes = Math.min(chunk, intParam(ctx.query.maxBytes, 'maxBytes', chunk, 1024, Number.MAX_SAFE_INTEGER));
    const ended = isFinal(e.status);
    if (!e.logKey) {
      // Not started (queued), or closed before it started: there is no log, and none will come once ended.
      ctx.body = { id: e.id, status: e.status, offset, nextOffset: offset, complete: ended, logState: 'available', entries: [] };
      return;
    }
    // On a passive site, a log whose object has not been copied here yet answers logState "replicating" (server/logs/read-execution-log.ts).
    const r = await readExecutionLog(deps.pool, deps.store, { id: e.id, logKey: e.logKey }, offset, { maxBytes });
    if (r.logState === 'replicating') ctx.set('Retry-After', String(REPLICATING_RETRY_S));
    ctx.body = {
      id: e.id,
      status: e.status,
      offset,
      nextOffset: r.nextOffset,
      complete: r.complete,
      logState: r.logState,
      ...(r.logState === 'replicating' ? { replication: r.replication } : {}),
      entries: r.entries,
    };
  });
}
