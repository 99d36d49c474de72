/**
 * `job/ID/run`, `job/ID/executions` (POST run, GET list), `execution/ID`
 * (GET, DELETE), `execution/ID/state`, `execution/ID/output`,
 * `execution/ID/abort`, `project/P/executions`, `project/P/executions/running`,
 * `executions/delete`.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { recordAudit } from '../../auth/audit.js';
import { authorizeNamed } from '../../auth/middleware.js';
import { authState, requirePrincipal, requireService } from '../../auth/principal.js';
import { TandemError, isTandemError } from '../../errors.js';
import type { AppDeps } from '../../http/deps.js';
import { executionNotFound, jobNotFound, jobResource, mustGetExecution, mustGetJob, mustGetProject, projectNotFound } from '../../http/lookup.js';
import { isUuid } from '../../http/params.js';
import { abortExecution, runJob } from '../../http/run-job.js';
import { readExecutionLog } from '../../logs/read-execution-log.js';
import { entryLine, type LogEntry } from '../../logs/store.js';
import { assertWritable } from '../../site/guard.js';
import { deleteExecution } from '../../executions/sql/delete-execution.js';
import { isFinal } from '../../executions/status.js';
import type { ExecutionRow, ExecutionStatus } from '../../executions/sql/executions.js';
import { getExecution } from '../../executions/sql/get-execution.js';
import { listExecutions, type ExecutionQuery } from '../../executions/sql/list-executions.js';
import { listStepResults } from '../../executions/sql/list-step-results.js';
import type { StepResult } from '../../executions/sql/step-results.js';
import { withTransaction } from '../../db/tx.js';
import { parseArgString } from '../argstring.js';
import { rundeckError } from '../errors.js';
import { links, objectBody, qbool, qint, qlist, qs, readBody } from '../request.js';
import { executionView, pagedExecutions, rundeckStatus, tandemStatuses, w3cDate } from '../views.js';

function executionResource(e: { project: string; jobName: string; jobGroup: string }) {
  return { type: 'execution' as const, ...jobResource({ project: e.project, name: e.jobName, group: e.jobGroup }) };
}

const ended = (e: ExecutionRow) => isFinal(e.status);

/** Option values of a run request: `options` wins over `argString` (JSON body, else query/form parameters). */
function runOptions(ctx: Koa.Context, body: Record<string, unknown>): { options: Record<string, unknown>; filter?: string; runAtTime?: string; asUser?: string } {
  const json = ctx.is('application/json') !== false && ctx.request.type !== '';
  const param = (k: string): string | undefined => {
    const v = json ? body[k] : (body[k] ?? qs(ctx, k));
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') throw new TandemError('bad_request', `${k} must be a string`, { field: k });
    return v;
  };
  let options: Record<string, unknown> | undefined;
  if (json && body.options !== undefined && body.options !== null) {
    if (typeof body.options !== 'object' || Array.isArray(body.options)) throw new TandemError('invalid_option', 'options must be an object of option name to value', { field: 'options' });
    options = body.options as Record<string, unknown>;
  } else if (!json) {
    // `option.NAME=value` parameters (API 18+) win over argString.
    const given = { ...ctx.query, ...body };
    const named = Object.entries(given).filter(([k]) => k.startsWith('option.') && k.length > 7);
    if (named.length) options = Object.fromEntries(named.map(([k, v]) => [k.slice(7), Array.isArray(v) ? v[0] : v]));
  }
  const argString = param('argString');
  return { options: options ?? (argString ? parseArgString(argString) : {}), filter: param('filter'), runAtTime: param('runAtTime'), asUser: param('asUser') };
}

/** `2w`, `30d`, `1h`... (Rundeck's recentFilter/olderFilter) as a time that long ago. */
function relative(name: string, v: string | undefined, now: number): Date | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)([snhdwmy])$/.exec(v);
  if (!m) throw rundeckError('bad_request', 'api.error.history.date-relative-format', `The parameter "${name}" did not have a valid relative date format: ${v}, expected "#" followed by "s/n/h/d/w/m/y"`);
  const unit = { s: 1e3, n: 60e3, h: 3600e3, d: 86400e3, w: 7 * 86400e3, m: 30 * 86400e3, y: 365 * 86400e3 }[m[2] as 's'];
  return new Date(now - Number(m[1]) * unit);
}

function absolute(name: string, v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = /^\d+$/.test(v) ? new Date(Number(v)) : new Date(v);
  if (Number.isNaN(d.getTime())) throw rundeckError('bad_request', 'api.error.history.date-format', `The parameter "${name}" did not have a valid time or dateTime format: ${v}`);
  return d;
}

/** Rundeck's execution query parameters (API docs, "Execution Query"). */
function executionQuery(ctx: Koa.Context, projectId: string | null): ExecutionQuery {
  const now = Date.now();
  const statusName = qs(ctx, 'statusFilter') ?? qs(ctx, 'status');
  let statuses: ExecutionStatus[] | undefined;
  if (statusName !== undefined) {
    const s = tandemStatuses(statusName);
    if (!s) throw rundeckError('bad_request', 'api.error.parameter.not.inList', `the value "${statusName}" for parameter "statusFilter" was invalid. It must be in the list: [running, succeeded, failed, aborted, timedout]`);
    statuses = s;
  }
  const group = qs(ctx, 'groupPath');
  const groupExact = qs(ctx, 'groupPathExact');
  const type = qs(ctx, 'executionTypeFilter');
  const since = [relative('recentFilter', qs(ctx, 'recentFilter'), now), absolute('begin', qs(ctx, 'begin'))].filter(Boolean) as Date[];
  const before = [relative('olderFilter', qs(ctx, 'olderFilter'), now), absolute('end', qs(ctx, 'end'))].filter(Boolean) as Date[];
  return {
    projectId,
    statuses,
    jobIds: qlist(ctx, 'jobIdListFilter'),
    excludeJobIds: qlist(ctx, 'excludeJobIdListFilter'),
    userName: qs(ctx, 'userFilter'),
    abortedBy: qs(ctx, 'abortedbyFilter'),
    jobNameContains: qs(ctx, 'jobFilter'),
    jobNameExact: qs(ctx, 'jobExactFilter'),
    groupPrefix: group === undefined || group === '*' ? undefined : group === '-' ? '' : group,
    groupExact: groupExact === undefined ? undefined : groupExact === '-' ? '' : groupExact,
    jobFullNames: qlist(ctx, 'jobListFilter'),
    trigger: type === 'scheduled' ? 'schedule' : type === 'user' ? 'user' : undefined,
    since: since.length ? new Date(Math.max(...since.map((d) => d.getTime()))) : undefined,
    before: before.length ? new Date(Math.min(...before.map((d) => d.getTime()))) : undefined,
    limit: 20,
    offset: 0,
  };
}

/** Only the executions the caller may read: project-wide `read` on executions, else per job. */
function readable(ctx: Koa.Context, rows: ExecutionRow[]): ExecutionRow[] {
  const principal = requirePrincipal(ctx);
  const policies = requireService(ctx).policies;
  return rows.filter((e) => policies.decide(principal, 'read', executionResource(e)).allowed);
}

/** Rundeck's execution state (API docs, "Execution State") from the step results. */
function stateView(e: ExecutionRow, steps: StepResult[], serverNode: string) {
  const state = (s: string) => ({ running: 'RUNNING', succeeded: 'SUCCEEDED', failed: 'FAILED', aborted: 'ABORTED', timedout: 'FAILED', queued: 'WAITING' })[s] ?? 'WAITING';
  const t = (d: Date | null) => (d ? w3cDate(d) : null);
  const nodes = [...new Set(steps.map((s) => s.node))].sort();
  const byStep = new Map<string, StepResult[]>();
  for (const s of steps) byStep.set(s.step, [...(byStep.get(s.step) ?? []), s]);
  const topSteps = [...byStep.keys()].filter((k) => !k.includes('/')).sort((a, b) => Number(a) - Number(b));
  const now = new Date();
  return {
    completed: ended(e),
    executionState: e.status === 'timedout' ? 'FAILED' : state(e.status),
    startTime: t(e.startedAt),
    endTime: t(e.endedAt),
    updateTime: t(e.endedAt ?? now),
    serverNode,
    executionId: e.id,
    stepCount: (e.definition as { sequence?: { steps?: unknown[] } })?.sequence?.steps?.length ?? topSteps.length,
    allNodes: nodes,
    targetNodes: nodes,
    nodes: Object.fromEntries(nodes.map((n) => [n, steps.filter((s) => s.node === n).map((s) => ({ executionState: state(s.status), stepctx: s.step }))])),
    steps: topSteps.map((k) => {
      const rs = byStep.get(k)!;
      const first = rs.reduce((a, b) => (a.startedAt < b.startedAt ? a : b));
      const last = rs.every((r) => r.endedAt) ? rs.reduce((a, b) => (a.endedAt! > b.endedAt! ? a : b)).endedAt : null;
      const states = new Set(rs.map((r) => state(r.status)));
      return {
        id: k,
        stepctx: k,
        executionState: states.size === 1 ? [...states][0] : 'NODE_MIXED',
        startTime: t(first.startedAt),
        endTime: t(last),
        updateTime: t(last ?? now),
        nodeStep: true,
        nodeStates: Object.fromEntries(rs.map((r) => [r.node, { executionState: state(r.status), startTime: t(r.startedAt), endTime: t(r.endedAt), updateTime: t(r.endedAt ?? now) }])),
      };
    }),
  };
}

/** One Tandem log entry in Rundeck's shape. */
function outputEntry(e: LogEntry, user: string) {
  const d = new Date(e.time);
  return {
    time: d.toISOString().slice(11, 19),
    absolute_time: w3cDate(d),
    level: e.level,
    log: e.text,
    user,
    node: e.node,
    stepctx: e.step ?? undefined,
  };
}

/** Rundeck's compacted form (API 21+): an entry lists only what changed; only `log` changed → the bare string. */
function compact(entries: ReturnType<typeof outputEntry>[]): unknown[] {
  let prev: Record<string, unknown> | null = null;
  return entries.map((cur) => {
    const c = cur as Record<string, unknown>;
    if (!prev) return (prev = c);
    const diff: Record<string, unknown> = {};
    for (const k of new Set([...Object.keys(prev), ...Object.keys(c)])) {
      if (k === 'time' || k === 'absolute_time') continue;
      if (prev[k] !== c[k]) diff[k] = c[k] === undefined ? null : c[k];
    }
    prev = c;
    const keys = Object.keys(diff);
    return keys.length === 1 && keys[0] === 'log' ? diff.log : diff;
  });
}

const MAX_READ = 16 * 1024 * 1024;

export function mountExecutionRoutes(router: Router, deps: AppDeps, heavy: Koa.Middleware): void {
  const run = async (ctx: Koa.Context) => {
    const job = await mustGetJob(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'run', { type: 'job', ...jobResource(job) }, () => jobNotFound(job.id));
    const body = objectBody(await readBody(ctx, deps));
    const r = runOptions(ctx, body);
    const caller = requirePrincipal(ctx);
    const user = caller.user;
    if (r.asUser && r.asUser !== user) throw rundeckError('forbidden', 'api.error.item.unauthorized', `Not authorized for action "runAs" for Job ${job.id} (Tandem runs executions as the caller)`);
    if (r.runAtTime) {
      const at = absolute('runAtTime', r.runAtTime)!;
      if (at.getTime() > Date.now() + 1000) throw rundeckError('bad_request', 'api.error.parameter.invalid', `The value "${r.runAtTime}" for parameter "runAtTime" is not valid: runs at a later time are not supported`);
    }
    const row = await runJob(deps, job, r.options, caller, r.filter);
    ctx.body = executionView(links(ctx, deps), row);
  };
  router.post('/job/:id/run', run);
  router.post('/job/:id/executions', run);

  router.get('/job/:id/executions', heavy, async (ctx) => {
    const job = await mustGetJob(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'read', { type: 'execution', ...jobResource(job) }, () => jobNotFound(job.id));
    const q = executionQuery(ctx, job.projectId);
    const max = qint(ctx, 'max', 1000, 1, 10_000);
    const offset = qint(ctx, 'offset', 0, 0, 10_000_000);
    const { rows, total } = await listExecutions(deps.pool, { ...q, jobIds: [job.id], limit: max, offset });
    ctx.body = pagedExecutions(links(ctx, deps), rows, { total, offset, max });
  });

  router.get('/project/:project/executions', heavy, async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorizeNamed(ctx, 'read', { type: 'execution', project: project.name }, () => projectNotFound(project.name));
    const max = qint(ctx, 'max', 20, 1, 10_000);
    const offset = qint(ctx, 'offset', 0, 0, 10_000_000);
    if (qbool(ctx, 'adhoc') === true) {
      // Tandem has no ad-hoc executions: every execution belongs to a job.
      ctx.body = pagedExecutions(links(ctx, deps), [], { total: 0, offset, max });
      return;
    }
    const { rows, total } = await listExecutions(deps.pool, { ...executionQuery(ctx, project.id), limit: max, offset });
    ctx.body = pagedExecutions(links(ctx, deps), rows, { total, offset, max });
  });

  router.get('/project/:project/executions/running', heavy, async (ctx) => {
    const name = ctx.params.project!;
    const project = name === '*' ? null : await mustGetProject(deps.pool, name);
    if (project) authorizeNamed(ctx, 'read', { type: 'execution', project: project.name }, () => projectNotFound(project.name));
    const max = qint(ctx, 'max', 20, 1, 10_000);
    const offset = qint(ctx, 'offset', 0, 0, 10_000_000);
    const jobId = qs(ctx, 'jobIdFilter');
    const { rows, total } = await listExecutions(deps.pool, {
      projectId: project?.id ?? null,
      statuses: ['queued', 'running'],
      jobIds: jobId ? [jobId] : undefined,
      limit: max,
      offset,
    });
    // With `*`, the projects the caller may not read are left out.
    const shown = project ? rows : readable(ctx, rows);
    ctx.body = pagedExecutions(links(ctx, deps), shown, { total: project ? total : shown.length, offset, max });
  });

  router.get('/execution/:id', async (ctx) => {
    const e = await mustGetExecution(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'read', executionResource(e), () => executionNotFound(e.id));
    ctx.body = executionView(links(ctx, deps), e, await listStepResults(deps.pool, e.id));
  });

  router.get('/execution/:id/state', async (ctx) => {
    const e = await mustGetExecution(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'read', executionResource(e), () => executionNotFound(e.id));
    ctx.body = stateView(e, await listStepResults(deps.pool, e.id), e.member ?? deps.engine.member);
  });

  /** `output`, or only one node's and/or one step's lines (`output/node/N`, `output/step/S`, `output/node/N/step/S`). */
  const output = async (ctx: Koa.Context) => {
    const e = await mustGetExecution(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'read', executionResource(e), () => executionNotFound(e.id));
    let offset = qint(ctx, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const maxlines = qint(ctx, 'maxlines', 0, 0, 1_000_000);
    const lastlines = qint(ctx, 'lastlines', 0, 0, 1_000_000);
    qint(ctx, 'lastmod', 0, 0, Number.MAX_SAFE_INTEGER);
    const compacted = qbool(ctx, 'compacted') === true && links(ctx, deps).version >= 21;
    const execCompleted = ended(e);
    const user = e.userName ?? '';
    let entries: LogEntry[] = [];
    let complete = execCompleted;
    let totalSize = e.logSize ? Number(e.logSize) : 0;
    let filter: Record<string, string> | undefined;
    if (e.logKey) {
      if (lastlines) offset = 0;
      const r = await readExecutionLog(deps.pool, deps.store, { id: e.id, logKey: e.logKey }, offset, { maxBytes: lastlines ? MAX_READ : 1024 * 1024 });
      const node = ctx.params.node;
      const stepctx = ctx.params.step ? (ctx.params.step as unknown as string[] | string) : undefined;
      const step = Array.isArray(stepctx) ? stepctx.join('/') : stepctx;
      entries = r.entries;
      complete = r.complete;
      let next = r.nextOffset;
      if (lastlines) {
        entries = entries.slice(-lastlines);
      } else if (maxlines && entries.length > maxlines) {
        // Offsets are byte positions in the JSON-lines log: move on by exactly the lines returned.
        entries = entries.slice(0, maxlines);
        next = offset + entries.reduce((n, x) => n + Buffer.byteLength(entryLine(x)), 0);
        complete = false;
      }
      totalSize = Math.max(totalSize, next);
      offset = next;
      // Filtered after the offset is known: offsets stay positions in the whole log.
      if (node !== undefined || step !== undefined) entries = entries.filter((x) => (node === undefined || x.node === node) && (step === undefined || x.step === step));
      filter = { ...(node !== undefined ? { nodename: node } : {}), ...(step !== undefined ? { stepctx: step } : {}) };
    }
    const duration = e.startedAt ? (e.endedAt ?? new Date()).getTime() - e.startedAt.getTime() : 0;
    if (qs(ctx, 'format') === 'text' || ctx.path.endsWith('/output.text')) {
      // Plain text: the lines, and the metadata in Rundeck's X-Rundeck-Exec* headers (API docs, "Text Format Content").
      ctx.set('X-Rundeck-ExecOutput-Offset', String(offset));
      ctx.set('X-Rundeck-ExecOutput-Completed', String(complete && execCompleted));
      ctx.set('X-Rundeck-Exec-Completed', String(execCompleted));
      ctx.set('X-Rundeck-Exec-State', rundeckStatus(e));
      ctx.set('X-Rundeck-Exec-Duration', String(duration));
      ctx.set('X-Rundeck-ExecOutput-LastModifed', String((e.endedAt ?? new Date()).getTime()));
      ctx.set('X-Rundeck-ExecOutput-TotalSize', String(totalSize));
      if (!e.logKey) ctx.set('X-Rundeck-ExecOutput-Empty', 'true');
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = entries.map((x) => x.text + '\n').join('');
      return;
    }
    const shaped = entries.map((x) => outputEntry(x, user));
    ctx.body = {
      id: e.id,
      offset,
      completed: complete && execCompleted,
      execCompleted,
      hasFailedNodes: e.status === 'failed' || e.status === 'timedout',
      execState: rundeckStatus(e),
      lastModified: (e.endedAt ?? new Date()).getTime(),
      execDuration: duration,
      percentLoaded: totalSize ? Math.min(100, (offset / totalSize) * 100) : 100,
      totalSize,
      ...(e.logKey ? {} : { empty: true }),
      ...(filter && Object.keys(filter).length ? { filter } : {}),
      ...(compacted ? { compacted: true, compactedAttr: 'log' } : {}),
      entries: compacted ? compact(shaped) : shaped,
    };
  };
  router.get('/execution/:id/output', heavy, output);
  // Rundeck's format by URL extension (API docs, "Output Format Using the URL").
  router.get('/execution/:id/output.json', heavy, output);
  router.get('/execution/:id/output.text', heavy, output);
  router.get('/execution/:id/output/node/:node', heavy, output);
  router.get('/execution/:id/output/step/*step', heavy, output);
  router.get('/execution/:id/output/node/:node/step/*step', heavy, output);

  const abort = async (ctx: Koa.Context) => {
    const e = await mustGetExecution(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'kill', executionResource(e), () => executionNotFound(e.id));
    const user = requirePrincipal(ctx).user;
    let after: ExecutionRow;
    let abortStatus: 'pending' | 'aborted' | 'failed';
    let reason: string | undefined;
    if (ended(e)) {
      after = e;
      abortStatus = 'failed';
      reason = `Execution has already completed (${e.status})`;
    } else {
      after = await abortExecution(deps, e, user);
      abortStatus = after.status === 'aborted' ? 'aborted' : 'pending';
      if (ctx.method === 'GET') {
        // Rundeck aborts on GET too; Tandem audits changes made by other methods itself (auth/http/audit-changes.ts).
        const svc = requireService(ctx);
        await recordAudit(svc.pool, {
          event: 'execution.aborted',
          outcome: 'success',
          username: user,
          clientAddr: authState(ctx).clientAddr ?? null,
          target: ctx.path,
          details: { method: 'GET', id: e.id, via: requirePrincipal(ctx).via },
        }).catch((err) => svc.log.error('audit event not written', { event: 'execution.aborted', path: ctx.path, user, err: err as Error }));
      }
    }
    const l = links(ctx, deps);
    const view = executionView(l, after);
    ctx.body = {
      abort: { status: abortStatus, ...(reason ? { reason } : {}) },
      execution: { id: view.id, status: view.status, href: view.href, permalink: view.permalink },
    };
  };
  router.get('/execution/:id/abort', abort);
  router.post('/execution/:id/abort', abort);

  router.delete('/execution/:id', async (ctx) => {
    const e = await mustGetExecution(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'delete', executionResource(e), () => executionNotFound(e.id));
    const outcome = await withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      return deleteExecution(c, e.id);
    });
    if (outcome === 'active') throw rundeckError('conflict', 'api.error.exec.delete.failed', `Execution ${e.id} could not be deleted: it is still running`);
    if (outcome === 'missing') throw new TandemError('not_found', `Execution ID does not exist: ${e.id}`);
    ctx.status = 204;
  });

  /** Delete every ended execution of a job (Rundeck: "Delete all Executions for a Job"); running ones are reported as failures. */
  router.delete('/job/:id/executions', async (ctx) => {
    const job = await mustGetJob(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'delete', { type: 'execution', ...jobResource(job) }, () => jobNotFound(job.id));
    const failures: { id: string; message: string }[] = [];
    let successCount = 0;
    let requestCount = 0;
    // In pages, oldest last; deleted rows leave the listing, so the offset only moves past the ones kept.
    for (let kept = 0; ; ) {
      const { rows } = await listExecutions(deps.pool, { projectId: job.projectId, jobIds: [job.id], limit: 500, offset: kept });
      if (!rows.length) break;
      for (const e of rows) {
        requestCount++;
        const outcome = await withTransaction(deps.pool, async (c) => {
          await assertWritable(c);
          return deleteExecution(c, e.id);
        });
        if (outcome === 'deleted') successCount++;
        else {
          kept++;
          failures.push({ id: e.id, message: outcome === 'active' ? `Execution ${e.id} is running` : `Not found: ${e.id}` });
        }
      }
    }
    ctx.body = { failures, failedCount: failures.length, successCount, allsuccessful: failures.length === 0, requestCount };
  });

  /** `?ids=a,b`, `{"ids": [...]}` or `[...]`; each id answered on its own. */
  router.post('/executions/delete', async (ctx) => {
    const body = await readBody(ctx, deps);
    const fromBody = Array.isArray(body) ? body : body && typeof body === 'object' ? (body as Record<string, unknown>).ids : undefined;
    const ids = (fromBody !== undefined ? (Array.isArray(fromBody) ? fromBody : [fromBody]) : qlist(ctx, 'ids', { commas: true }) ?? []).map(String);
    if (!ids.length) throw rundeckError('bad_request', 'api.error.parameter.required', 'parameter "ids" is required');
    const failures: { id: string; message: string }[] = [];
    let successCount = 0;
    for (const id of ids) {
      const e = isUuid(id) ? await getExecution(deps.pool, id) : null;
      if (!e) {
        failures.push({ id, message: `Not found: ${id}` });
        continue;
      }
      try {
        authorizeNamed(ctx, 'delete', executionResource(e), () => executionNotFound(e.id));
        const outcome = await withTransaction(deps.pool, async (c) => {
          await assertWritable(c);
          return deleteExecution(c, e.id);
        });
        if (outcome === 'deleted') successCount++;
        else failures.push({ id, message: outcome === 'active' ? `Execution ${id} is running` : `Not found: ${id}` });
      } catch (err) {
        if (!isTandemError(err) || err.status >= 500) throw err;
        failures.push({ id, message: err.message });
      }
    }
    ctx.body = { failures, failedCount: failures.length, successCount, allsuccessful: failures.length === 0, requestCount: ids.length };
  });
}
