import type Router from '@koa/router';
import { authorize } from '../../auth/middleware.js';
import { requirePrincipal, requireService } from '../../auth/principal.js';
import { TandemError } from '../../errors.js';
import { exportJobs, parseJobs } from '../../jobs/rundeck-format.js';
import { importJobs } from '../../app/job-import.js';
import { assertWritable } from '../../site/guard.js';
import { deleteJob } from '../../sql/deleteJob.js';
import { listJobs } from '../../sql/listJobs.js';
import { withTransaction } from '../../sql/tx.js';
import { readJobDocument } from '../body.js';
import type { AppDeps } from '../deps.js';
import { enumParam } from '../params.js';
import { jobResource, mustGetJob, mustGetProject } from '../lookup.js';
import { jobView } from '../views.js';
import { hideSecureDefaults } from '../../jobs/secure-defaults.js';
import type { JobDefinition } from '../../jobs/definition.js';
import type { JobRow } from '../../sql/jobs.js';
import type { Context } from 'koa';

const FORMATS = ['json', 'yaml'] as const;

function sendExport(ctx: Context, text: string, format: 'json' | 'yaml') {
  ctx.type = format === 'yaml' ? 'application/yaml' : 'application/json';
  ctx.body = text;
}

/** Whether the caller may change this job, and so may see its secure option defaults (see jobs/secure-defaults.ts). */
function mayUpdate(ctx: Context, job: JobRow): boolean {
  return requireService(ctx).policies.decide(requirePrincipal(ctx), 'update', { type: 'job', ...jobResource(job) }).allowed;
}

/** The definition to export to this caller: secure defaults only for those who may update the job. */
function exportable(ctx: Context, job: JobRow): JobDefinition {
  return mayUpdate(ctx, job) ? job.definition : hideSecureDefaults(job.definition);
}

export function mountJobRoutes(router: Router, deps: AppDeps): void {
  /** List a project's jobs; `?format=yaml|json` exports them all in Rundeck's format. */
  router.get('/api/v1/projects/:project/jobs', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorize(ctx, 'read', { type: 'project', project: project.name });
    const format = enumParam(ctx.query.format, 'format', FORMATS);
    const principal = requirePrincipal(ctx);
    const policies = requireService(ctx).policies;
    const jobs = (await listJobs(deps.pool, project.id)).filter(
      (j) => policies.decide(principal, 'read', { type: 'job', ...jobResource(j) }).allowed,
    );
    if (format) return sendExport(ctx, exportJobs(jobs.map((j) => exportable(ctx, j)), format), format);
    ctx.body = { project: project.name, jobs: jobs.map((j) => jobView(j)) };
  });

  /** Import YAML or JSON (by Content-Type): a list of jobs or one job; upsert by uuid, else group + name. */
  router.post('/api/v1/projects/:project/jobs', async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    const doc = await readJobDocument(ctx, deps.config.server.bodyLimit);
    const { jobs, warnings } = parseJobs(doc.text, doc.format);
    if (!jobs.length) throw new TandemError('validation_failed', 'the document holds no job', { field: 'jobs' });
    for (const j of jobs) authorize(ctx, 'create', { type: 'job', ...jobResource({ project: project.name, name: j.name, group: j.group }) });
    const user = requirePrincipal(ctx).user;
    const imported = await withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      await mustGetProject(c, project.name);
      return importJobs(c, project, jobs, user);
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
    authorize(ctx, 'read', { type: 'job', ...jobResource(job) });
    const format = enumParam(ctx.query.format, 'format', FORMATS);
    if (format) return sendExport(ctx, exportJobs([exportable(ctx, job)], format), format);
    ctx.body = jobView(job, { definition: true, showSecrets: mayUpdate(ctx, job) });
  });

  /** Replace a job's definition with one job document (YAML or JSON); its uuid must be absent or the same. */
  router.put('/api/v1/jobs/:id', async (ctx) => {
    const job = await mustGetJob(deps.pool, ctx.params.id!);
    authorize(ctx, 'update', { type: 'job', ...jobResource(job) });
    const doc = await readJobDocument(ctx, deps.config.server.bodyLimit);
    const { jobs, warnings } = parseJobs(doc.text, doc.format);
    if (jobs.length !== 1) throw new TandemError('validation_failed', `expected exactly one job, got ${jobs.length}`, { field: 'jobs' });
    const def = jobs[0]!;
    if (def.uuid && def.uuid !== job.id) throw new TandemError('validation_failed', `uuid ${def.uuid} does not match the job ${job.id} being replaced`, { field: 'jobs[0].uuid' });
    authorize(ctx, 'update', { type: 'job', ...jobResource({ project: job.project, name: def.name, group: def.group }) });
    const user = requirePrincipal(ctx).user;
    await withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      const project = await mustGetProject(c, job.project);
      await importJobs(c, project, [{ ...def, uuid: job.id }], user);
    });
    const updated = await mustGetJob(deps.pool, job.id);
    ctx.body = { ...jobView(updated, { definition: true, showSecrets: mayUpdate(ctx, updated) }), warnings };
  });

  router.delete('/api/v1/jobs/:id', async (ctx) => {
    const job = await mustGetJob(deps.pool, ctx.params.id!);
    authorize(ctx, 'delete', { type: 'job', ...jobResource(job) });
    await withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      if (!(await deleteJob(c, job.id))) throw new TandemError('not_found', `no job with id ${JSON.stringify(job.id)}`);
    });
    ctx.status = 204;
  });
}
