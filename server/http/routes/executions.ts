import type Router from '@koa/router';
import type Koa from 'koa';
import { Readable } from 'node:stream';
import { authorizeNamed } from '../../auth/middleware.js';
import { requirePrincipal } from '../../auth/principal.js';
import { TandemError } from '../../errors.js';
import { LineIndexCache } from '../../logs/line-index.js';
import { readExecutionLog, REPLICATING_RETRY_S } from '../../logs/read-execution-log.js';
import { EXECUTION_STATUSES, isFinal } from '../../executions/status.js';
import { listExecutions } from '../../executions/sql/list-executions.js';
import { listStepResults } from '../../executions/sql/list-step-results.js';
import type { LogEntry } from '../../logs/store.js';
import { bodyLimits, readJsonObject } from '../body.js';
import type { AppDeps } from '../deps.js';
import { abortExecution, runJob } from '../run-job.js';
import { enumParam, intParam, pageParams } from '../params.js';
import { executionNotFound, jobNotFound, jobResource, mustGetExecution, mustGetJob, mustGetProject, projectNotFound } from '../lookup.js';
import { executionView } from '../views.js';
import { listExecutionNodes } from '../../nodes/sql/list-execution-nodes.js';

/** A project's execution list counts at most this many (`totalCapped: true` beyond). */
export const LIST_COUNT_CAP = 10_000;

function textParam(raw: string | string[] | undefined, field: string): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  const s = Array.isArray(raw) ? raw[0]! : raw;
  if (s.length > 200) throw new TandemError('bad_request', `${field} must be at most 200 characters`, { field });
  return s;
}

/** An ISO-8601 time (`2026-12-03T10:00:00Z`), refused with 400 naming the parameter otherwise. */
function timeParam(raw: string | string[] | undefined, field: string): Date | undefined {
  const s = textParam(raw, field);
  if (s === undefined) return undefined;
  const d = new Date(s);
  if (!/^\d{4}-\d{2}-\d{2}/.test(s) || Number.isNaN(d.getTime())) throw new TandemError('bad_request', `${field} must be an ISO-8601 time`, { field });
  return d;
}

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
    const jobId = textParam(ctx.query.jobId, 'jobId');
    const jobNameExact = textParam(ctx.query.job, 'job');
    const jobNameContains = textParam(ctx.query.jobName, 'jobName');
    const userName = textParam(ctx.query.user, 'user');
    const since = timeParam(ctx.query.since, 'since');
    const before = timeParam(ctx.query.before, 'before');
    // The count stops at LIST_COUNT_CAP (+1 to know it is more): a page of a project with millions of runs stays fast.
    const { rows, total } = await listExecutions(deps.pool, { projectId: project.id, status, jobId, jobNameExact, jobNameContains, userName, since, before, limit, offset, countLimit: LIST_COUNT_CAP + 1 });
    const totalCapped = total > LIST_COUNT_CAP;
    ctx.body = { project: project.name, total: totalCapped ? LIST_COUNT_CAP : total, totalCapped, limit, offset, executions: rows.map((e) => executionView(e)) };
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

  const lineIndex = new LineIndexCache(deps.store);

  /**
   * Log entries from a byte offset (`?offset=`) or a line number (`?line=`, answered with `line`, the first
   * entry's number, and `lines`, the whole lines so far); `complete: true` once the log is sealed and fully read
   * (stop tailing). `?format=text` streams the whole log as plain text instead (one line per entry: its text).
   */
  router.get('/api/v1/executions/:id/output', heavy, async (ctx) => {
    const e = await mustGetExecution(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'read', executionResource(e), () => executionNotFound(e.id));
    const format = enumParam(ctx.query.format, 'format', ['json', 'text'] as const) ?? 'json';
    if (format === 'text') {
      ctx.set('Content-Type', 'text/plain; charset=utf-8');
      ctx.set('Content-Disposition', `attachment; filename="execution-${e.id}.log"`);
      ctx.set('X-Content-Type-Options', 'nosniff');
      if (!e.logKey) {
        ctx.body = '';
        return;
      }
      // The first chunk is read before answering, so a log that cannot be read answers its error, not a cut stream.
      const first = await readExecutionLog(deps.pool, deps.store, { id: e.id, logKey: e.logKey }, 0, { maxBytes: deps.config.server.maxLogChunk });
      ctx.body = Readable.from(logAsText(deps, { id: e.id, logKey: e.logKey }, first));
      return;
    }
    const lineAsked = ctx.query.line === undefined || ctx.query.line === '' ? undefined : intParam(ctx.query.line, 'line', 0, 0, Number.MAX_SAFE_INTEGER);
    let offset = intParam(ctx.query.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    // At most server.maxLogChunk per answer: a larger ask is cut to it (the answer's nextOffset says where to go on).
    const chunk = deps.config.server.maxLogChunk;
    const maxBytes = Math.min(chunk, intParam(ctx.query.maxBytes, 'maxBytes', chunk, 1024, Number.MAX_SAFE_INTEGER));
    const ended = isFinal(e.status);
    if (!e.logKey) {
      // Not started (queued), or closed before it started: there is no log, and none will come once ended.
      const lines = lineAsked === undefined ? {} : { line: 0, lines: 0 };
      ctx.body = { id: e.id, status: e.status, offset, nextOffset: offset, complete: ended, logState: 'available', ...lines, entries: [] };
      return;
    }
    let lines: { line: number; lines: number } | undefined;
    if (lineAsked !== undefined) {
      const at = await lineIndex.seek(e.logKey, lineAsked);
      offset = at.offset;
      lines = { line: at.line, lines: at.lines };
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
      ...lines,
      entries: r.entries,
    };
  });

  /**
   * Find the next line at or after `?fromLine=` whose text contains `?q=` (a literal, case-insensitive: linear
   * time whatever the input). One answer searches at most SEARCH_BUDGET bytes: `match` is the line number found,
   * or null with `searchedTo` (ask again from there) and `end` (nothing after it yet).
   */
  router.get('/api/v1/executions/:id/output/search', heavy, async (ctx) => {
    const e = await mustGetExecution(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'read', executionResource(e), () => executionNotFound(e.id));
    const q = typeof ctx.query.q === 'string' ? ctx.query.q : '';
    if (q.length < 1 || q.length > 200) throw new TandemError('bad_request', 'q must be 1 to 200 characters', { field: 'q' });
    const fromLine = intParam(ctx.query.fromLine, 'fromLine', 0, 0, Number.MAX_SAFE_INTEGER);
    if (!e.logKey) {
      ctx.body = { id: e.id, q, fromLine, match: null, searchedTo: 0, end: true };
      return;
    }
    const needle = q.toLowerCase();
    const at = await lineIndex.seek(e.logKey, fromLine);
    let offset = at.offset;
    let line = at.line;
    const stopAt = offset + SEARCH_BUDGET;
    for (;;) {
      const r = await readExecutionLog(deps.pool, deps.store, { id: e.id, logKey: e.logKey }, offset, { maxBytes: deps.config.server.maxLogChunk });
      for (const entry of r.entries) {
        if (entry.text.toLowerCase().includes(needle)) {
          ctx.body = { id: e.id, q, fromLine, match: line, searchedTo: line, end: false };
          return;
        }
        line++;
      }
      const end = r.nextOffset === offset;
      offset = r.nextOffset;
      if (end || offset >= stopAt) {
        ctx.body = { id: e.id, q, fromLine, match: null, searchedTo: line, end };
        return;
      }
    }
  });
}

/** Bytes one search answer reads at most (a 1,000,000-line log is ~150 MB: a few answers). */
const SEARCH_BUDGET = 32 * 1024 * 1024;

/** The log as plain text, one entry's text per line, read chunk by chunk (memory bounded by one chunk). */
async function* logAsText(deps: AppDeps, exec: { id: string; logKey: string }, first: { entries: LogEntry[]; nextOffset: number; complete: boolean }): AsyncGenerator<string> {
  let r = first;
  let offset = 0;
  for (;;) {
    if (r.entries.length) yield r.entries.map((x) => x.text + '\n').join('');
    if (r.complete || r.nextOffset === offset) return;
    offset = r.nextOffset;
    r = await readExecutionLog(deps.pool, deps.store, exec, offset, { maxBytes: deps.config.server.maxLogChunk });
  }
}
