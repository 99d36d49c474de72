import type Router from '@koa/router';
import type Koa from 'koa';
import { Readable } from 'node:stream';
import { authorize, authorizeAny, authorizeNamed } from '../../auth/middleware.js';
import { requirePrincipal, requireService } from '../../auth/principal.js';
import { TandemError } from '../../errors.js';
import { exportJobs, exportJobsStream, parseJobs } from '../../jobs/rundeck-format.js';
import { importJobs, type ImportCheck } from '../../app/job-import.js';
import { assertWritable } from '../../site/guard.js';
import { deleteJob } from '../../jobs/sql/delete-job.js';
import { listJobs } from '../../jobs/sql/list-jobs.js';
import { listJobsPage } from '../../jobs/sql/list-jobs-page.js';
import { listJobKeys, type JobKey } from '../../jobs/sql/list-job-keys.js';
import { getJobsByIds } from '../../jobs/sql/get-jobs-by-ids.js';
import { countJobGroups } from '../../jobs/sql/count-job-groups.js';
import { withTransaction } from '../../db/tx.js';
import { bodyLimits, readJobDocument } from '../body.js';
import type { AppDeps } from '../deps.js';
import { enumParam, intParam, pageParams, textParam } from '../params.js';
import { jobNotFound, jobResource, mustGetJob, mustGetProject, projectNotFound } from '../lookup.js';
import { jobView } from '../views.js';
import { hideSecureDefaults } from '../../jobs/secure-defaults.js';
import type { JobDefinition } from '../../jobs/definition.js';
import type { JobRow } from '../../jobs/sql/jobs.js';
import type { Context } from 'koa';
import type { RefAccess } from '../../executions/jobref-access.js';

const FORMATS = ['json', 'yaml'] as const;

/** Jobs per group path, in the order given (already by group path). */
function countByGroup(keys: JobKey[]): { group: string; count: number }[] {
  const out: { group: string; count: number }[] = [];
  for (const k of keys) {
    const last = out[out.length - 1];
    if (last && last.group === k.groupPath) last.count++;
    else out.push({ group: k.groupPath, count: 1 });
  }
  return out;
}

function sendExport(ctx: Context, text: string | Readable, format: 'json' | 'yaml') {
  ctx.type = format === 'yaml' ? 'application/yaml' : 'application/json';
  // Exports may hold secure option defaults (for callers who may update the job): never kept by a cache.
  ctx.set('Cache-Control', 'no-store');
  ctx.body = text;
}

/** The caller's rights, for the job references of what they import (executions/jobref-access.ts). */
function refAccess(ctx: Context): RefAccess {
  const p = requirePrincipal(ctx);
  return { policies: requireService(ctx).policies, subject: { user: p.user, roles: p.roles } };
}

/** Whether the caller may change this job, and so may see its secure option defaults (see jobs/secure-defaults.ts). */
function mayUpdate(ctx: Context, job: JobRow): boolean {
  return requireService(ctx).policies.decide(requirePrincipal(ctx), 'update', { type: 'job', ...jobResource(job) }).allowed;
}

/** The definition to export to this caller: secure defaults only for those who may update the job. */
function exportable(ctx: Context, job: JobRow): JobDefinition {
  return mayUpdate(ctx, job) ? job.definition : hideSecureDefaults(job.definition);
}

/** The access check of each job an import creates or replaces (before anything is written). */
function importAuthorizer(ctx: Context, project: string): (c: ImportCheck) => void {
  return (c) => authorize(ctx, c.action, { type: 'job', ...jobResource({ project, name: c.job.name, group: c.job.group }) });
}

export function mountJobRoutes(router: Router, deps: AppDeps, heavy: Koa.Middleware): void {
  /**
   * List a project's jobs, a page at a time (`?limit=&offset=`, default and
   * maximum page from server.pageLimit / maxPageLimit), by group path then
   * name; `?q=` keeps the jobs whose name or group path holds it (any case),
   * `?group=` those directly in one group ('' = outside any group).
   * `?groups=1` answers the group paths instead (with how many jobs each holds
   * directly), so a tree can be drawn without loading the jobs.
   * `?format=yaml|json` exports them all in Rundeck's format, streamed job by job.
   */
  router.get('/api/v1/projects/:project/jobs', heavy, async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorizeNamed(ctx, 'read', { type: 'project', project: project.name }, () => projectNotFound(project.name));
    const format = enumParam(ctx.query.format, 'format', FORMATS);
    const principal = requirePrincipal(ctx);
    const policies = requireService(ctx).policies;
    const readable = (j: { name: string; groupPath: string }) =>
      policies.decide(principal, 'read', { type: 'job', ...jobResource({ project: project.name, name: j.name, groupPath: j.groupPath }) }).allowed;
    if (format) {
      const jobs = (await listJobs(deps.pool, project.id)).filter(readable);
      return sendExport(ctx, Readable.from(exportJobsStream(jobs.map((j) => exportable(ctx, j)), format)), format);
    }
    const search = { projectId: project.id, q: textParam(ctx.query.q, 'q', 200), group: textParam(ctx.query.group, 'group', 1000, true) };
    // Paging and counting happen in SQL when the caller's policies read every job of the project alike (the
    // usual case); a policy that allows or denies single jobs by name or group makes us read the matching
    // jobs' names first (not their definitions), decide each, then page, so totals and pages never count
    // a job the caller may not see.
    const scope = policies.jobScope(principal, 'read', project.name);
    if (ctx.query.groups !== undefined) {
      enumParam(ctx.query.groups, 'groups', ['1', 'true'] as const);
      let groups: { group: string; count: number }[];
      if (scope === 'all') groups = await countJobGroups(deps.pool, search);
      else if (scope === 'none') groups = [];
      else groups = countByGroup((await listJobKeys(deps.pool, search)).filter(readable));
      ctx.body = { project: project.name, total: groups.reduce((n, g) => n + g.count, 0), groups };
      return;
    }
    const { limit, offset } = pageParams(ctx.query, deps.config.server);
    let rows: JobRow[];
    let total: number;
    if (scope === 'all') ({ rows, total } = await listJobsPage(deps.pool, search, { limit, offset }));
    else if (scope === 'none') ({ rows, total } = { rows: [], total: 0 });
    else {
      const keys = (await listJobKeys(deps.pool, search)).filter(readable);
      total = keys.length;
      rows = await getJobsByIds(deps.pool, keys.slice(offset, offset + limit).map((k) => k.id));
    }
    ctx.body = { project: project.name, total, limit, offset, jobs: rows.map((j) => jobView(j)) };
  });

  /**
   * Import YAML or JSON (by Content-Type): a list of jobs or one job; upsert
   * by uuid, else group + name. The route is authorized before the body is
   * read (may the caller create or update any job here?); each job is then
   * checked for what the import does to it (create or update) before
   * anything is written, and one refused job refuses the whole document.
   */
  router.post('/api/v1/projects/:project/jobs', heavy, async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorizeAny(ctx, ['create', 'update'], { type: 'job', project: project.name }, { type: 'project', project: project.name }, () => projectNotFound(project.name));
    const doc = await readJobDocument(ctx, bodyLimits(deps.config.server));
    const { jobs, warnings } = parseJobs(doc.text, doc.format);
    if (!jobs.length) throw new TandemError('validation_failed', 'the document holds no job', { field: 'jobs' });
    const user = requirePrincipal(ctx).user;
    const imported = await withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      await mustGetProject(c, project.name);
      return importJobs(c, project, jobs, user, { authorize: importAuthorizer(ctx, project.name), access: refAccess(ctx) });
    });
    ctx.status = 201;
    ctx.body = {
      project: project.name,
      jobs: imported.map((j) => ({ ...j, href: `/api/v1/jobs/${encodeURIComponent(j.id)}` })),
      created: imported.filter((j) => j.created).length,
      updated: imported.filter((j) => !j.created).length,
      warnings,
    };
  });

  router.get('/api/v1/jobs/:id', async (ctx) => {
    const job = await mustGetJob(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'read', { type: 'job', ...jobResource(job) }, () => jobNotFound(job.id));
    const format = enumParam(ctx.query.format, 'format', FORMATS);
    if (format) return sendExport(ctx, exportJobs([exportable(ctx, job)], format), format);
    const fireTimes = intParam(ctx.query.fireTimes, 'fireTimes', 1, 1, 50);
    ctx.body = jobView(job, { definition: true, showSecrets: mayUpdate(ctx, job), fireTimes });
  });

  /** Replace a job's definition with one job document (YAML or JSON); its uuid must be absent or the same. */
  router.put('/api/v1/jobs/:id', async (ctx) => {
    const job = await mustGetJob(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'update', { type: 'job', ...jobResource(job) }, () => jobNotFound(job.id));
    const doc = await readJobDocument(ctx, bodyLimits(deps.config.server));
    const { jobs, warnings } = parseJobs(doc.text, doc.format);
    if (jobs.length !== 1) throw new TandemError('validation_failed', `expected exactly one job, got ${jobs.length}`, { field: 'jobs' });
    const def = jobs[0]!;
    if (def.uuid && def.uuid !== job.id) throw new TandemError('validation_failed', `uuid ${def.uuid} does not match the job ${job.id} being replaced`, { field: 'jobs[0].uuid' });
    const user = requirePrincipal(ctx).user;
    await withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      const project = await mustGetProject(c, job.project);
      await importJobs(c, project, [{ ...def, uuid: job.id }], user, { authorize: importAuthorizer(ctx, project.name), access: refAccess(ctx) });
    });
    const updated = await mustGetJob(deps.pool, job.id);
    ctx.body = { ...jobView(updated, { definition: true, showSecrets: mayUpdate(ctx, updated) }), warnings };
  });

  router.delete('/api/v1/jobs/:id', async (ctx) => {
    const job = await mustGetJob(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'delete', { type: 'job', ...jobResource(job) }, () => jobNotFound(job.id));
    await withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      if (!(await deleteJob(c, job.id))) throw jobNotFound(job.id);
    });
    ctx.status = 204;
  });
}
