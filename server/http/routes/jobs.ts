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
import { withTransaction } from '../../db/tx.js';
import { bodyLimits, readJobDocument } from '../body.js';
import type { AppDeps } from '../deps.js';
import { enumParam, pageParams } from '../params.js';
import { jobNotFound, jobResource, mustGetJob, mustGetProject, projectNotFound } from '../lookup.js';
import { jobView } from '../views.js';
import { hideSecureDefaults } from '../../jobs/secure-defaults.js';
import type { JobDefinition } from '../../jobs/definition.js';
import type { JobRow } from '../../jobs/sql/jobs.js';
import type { Context } from 'koa';
import type { RefAccess } from '../../executions/jobref-access.js';

const FORMATS = ['json', 'yaml'] as const;

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
   * maximum page from server.pageLimit / maxPageLimit); `?format=yaml|json`
   * exports them all in Rundeck's format, streamed job by job.
   */
  router.get('/api/v1/projects/:project/jobs', heavy, async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorizeNamed(ctx, 'read', { type: 'project', project: project.name }, () => projectNotFound(project.name));
    const format = enumParam(ctx.query.format, 'format', FORMATS);
    const page = format ? undefined : pageParams(ctx.query, deps.config.server);
    const principal = requirePrincipal(ctx);
    const policies = requireService(ctx).policies;
    const jobs = (await listJobs(deps.pool, project.id)).filter(
      (j) => policies.decide(principal, 'read', { type: 'job', ...jobResource(j) }).allowed,
    );
    if (format) return sendExport(ctx, Readable.from(exportJobsStream(jobs.map((j) => exportable(ctx, j)), format)), format);
    const { limit, offset } = page!;
    ctx.body = { project: project.name, total: jobs.length, limit, offset, jobs: jobs.slice(offset, offset + limit).map((j) => jobView(j)) };
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
    ctx.body = jobView(job, { definition: true, showSecrets: mayUpdate(ctx, job) });
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
