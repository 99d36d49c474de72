/**
 * `project/P/jobs` (+ filters), `project/P/jobs/export`, `project/P/jobs/import`,
 * `job/ID` (GET, DELETE), `job/ID/info`, `job/ID/execution|schedule/enable|disable`.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { authorize, authorizeNamed } from '../../auth/middleware.js';
import { requirePrincipal, requireService } from '../../auth/principal.js';
import { importJobs } from '../../app/job-import.js';
import { TandemError, isTandemError } from '../../errors.js';
import { bodyLimits, readText } from '../../http/body.js';
import { checkJsonShape, checkYamlShape } from '../../http/document-shape.js';
import type { AppDeps } from '../../http/deps.js';
import { jobNotFound, jobResource, mustGetJob, mustGetProject, projectNotFound } from '../../http/lookup.js';
import type { JobDefinition } from '../../jobs/definition.js';
import { exportJobs, parseJobs, type JobFormat } from '../../jobs/rundeck-format.js';
import { hideSecureDefaults } from '../../jobs/secure-defaults.js';
import { assertWritable } from '../../site/guard.js';
import { deleteJob } from '../../jobs/sql/delete-job.js';
import { getJob } from '../../jobs/sql/get-job.js';
import { getJobByName } from '../../jobs/sql/get-job-by-name.js';
import type { JobRow } from '../../jobs/sql/jobs.js';
import { jobAverageDuration } from '../../jobs/sql/job-average-duration.js';
import { listJobs } from '../../jobs/sql/list-jobs.js';
import { setJobEnabled } from '../../jobs/sql/set-job-enabled.js';
import { withTransaction } from '../../db/tx.js';
import { rundeckError } from '../errors.js';
import { parseMultipart } from '../multipart.js';
import { links, objectBody, qbool, qint, qlist, qs, readBody } from '../request.js';
import { href, permalink } from '../urls.js';
import { jobView } from '../views.js';

/** Rundeck's job filters (API docs, "Listing Jobs"); group "-" means top level, "*" (default) every group. */
export function jobFilter(ctx: Koa.Context): (j: JobRow) => boolean {
  const ids = qlist(ctx, 'idlist', { commas: true });
  const groupPath = qs(ctx, 'groupPath');
  const groupExact = qs(ctx, 'groupPathExact');
  const nameContains = qs(ctx, 'jobFilter')?.toLowerCase();
  const nameExact = qs(ctx, 'jobExactFilter');
  const scheduled = qbool(ctx, 'scheduledFilter');
  return (j) => {
    if (ids && !ids.includes(j.id)) return false;
    if (groupExact !== undefined && j.groupPath !== (groupExact === '-' ? '' : groupExact)) return false;
    if (groupPath !== undefined && groupPath !== '*') {
      if (groupPath === '-' ? j.groupPath !== '' : j.groupPath !== groupPath && !j.groupPath.startsWith(groupPath + '/')) return false;
    }
    if (nameContains !== undefined && !j.name.toLowerCase().includes(nameContains)) return false;
    if (nameExact !== undefined && j.name !== nameExact) return false;
    if (scheduled !== undefined && !!j.definition.schedule !== scheduled) return false;
    return true;
  };
}

function mayUpdate(ctx: Koa.Context, job: JobRow): boolean {
  return requireService(ctx).policies.decide(requirePrincipal(ctx), 'update', { type: 'job', ...jobResource(job) }).allowed;
}

/** Secure option defaults only for callers who may change the job (as in Tandem's API). */
function exportable(ctx: Koa.Context, job: JobRow): JobDefinition {
  return mayUpdate(ctx, job) ? job.definition : hideSecureDefaults(job.definition);
}

/** `format=` or the Accept header; JSON by default (API 44+ behaviour, for every version). */
function exportFormat(ctx: Koa.Context): JobFormat {
  const f = qs(ctx, 'format') ?? (ctx.accepts('application/json', 'text/yaml', 'application/yaml', 'application/xml') || 'application/json');
  if (f === 'json' || f === 'application/json') return 'json';
  if (f === 'yaml' || f === 'text/yaml' || f === 'application/yaml') return 'yaml';
  throw rundeckError('unsupported_media_type', 'api.error.export.format.unsupported', `Export format "${f}" is not supported: use json or yaml (Tandem does not write job XML)`, { status: 400 });
}

function send(ctx: Koa.Context, jobs: JobDefinition[], format: JobFormat): void {
  ctx.type = format === 'yaml' ? 'text/yaml' : 'application/json';
  ctx.body = exportJobs(jobs, format);
}

function readableJobs(ctx: Koa.Context, jobs: JobRow[]): JobRow[] {
  const principal = requirePrincipal(ctx);
  const policies = requireService(ctx).policies;
  return jobs.filter((j) => policies.decide(principal, 'read', { type: 'job', ...jobResource(j) }).allowed);
}

function formatOf(name: string | undefined, fallback: JobFormat | undefined): JobFormat {
  const f = name ?? fallback;
  if (f === 'yaml' || f === 'json') return f;
  throw rundeckError('unsupported_media_type', 'api.error.jobs.import.format.unsupported', `The specified format is not supported: ${f ?? '(none)'} (Tandem reads yaml and json job documents)`, { status: 400 });
}

/** The job document of an import: a raw body, or the `xmlBatch` field of a form or multipart upload. */
async function importDocument(ctx: Koa.Context, deps: AppDeps): Promise<{ text: string; format: JobFormat }> {
  const doc = await rawDocument(ctx, deps);
  // The one body parser's limits (depth, values, UTF-8, NUL) before the job reader parses it.
  const limits = bodyLimits(deps.config.server);
  if (doc.format === 'json') checkJsonShape(doc.text, limits);
  else checkYamlShape(doc.text, limits);
  if (doc.text.includes('\u0000')) throw new TandemError('bad_request', 'the job document contains a NUL character', { field: 'body' });
  return doc;
}

async function rawDocument(ctx: Koa.Context, deps: AppDeps): Promise<{ text: string; format: JobFormat }> {
  const { text, valid } = await readText(ctx, deps.config.server.bodyLimit);
  if (!valid) throw new TandemError('bad_request', 'the request body is not valid UTF-8', { field: 'body' });
  const fileformat = qs(ctx, 'fileformat') ?? qs(ctx, 'format');
  if (ctx.is('multipart/form-data')) {
    const parts = parseMultipart(ctx.get('content-type'), Buffer.from(text, 'utf8'));
    const batch = parts.find((p) => p.name === 'xmlBatch');
    if (!batch) throw rundeckError('bad_request', 'api.error.jobs.import.missing-file', 'No file was uploaded (expected the multipart field xmlBatch)');
    const field = parts.find((p) => p.name === 'fileformat')?.content.toString('utf8');
    return { text: batch.content.toString('utf8'), format: formatOf(fileformat ?? field, byType(batch.contentType)) };
  }
  if (ctx.is('application/x-www-form-urlencoded')) {
    const form = new URLSearchParams(text);
    const batch = form.get('xmlBatch');
    if (batch === null) throw rundeckError('bad_request', 'api.error.jobs.import.missing-file', 'No file was uploaded (expected the form field xmlBatch)');
    return { text: batch, format: formatOf(fileformat ?? form.get('fileformat') ?? undefined, undefined) };
  }
  return { text, format: formatOf(fileformat, byType(ctx.request.type)) };
}

function byType(type: string | undefined): JobFormat | undefined {
  if (!type) return undefined;
  if (/json/i.test(type)) return 'json';
  if (/yaml/i.test(type)) return 'yaml';
  if (/xml/i.test(type)) throw rundeckError('unsupported_media_type', 'api.error.jobs.import.format.unsupported', 'The specified format is not supported: xml (Tandem reads yaml and json job documents)', { status: 415 });
  return undefined;
}

type DupeOption = 'create' | 'update' | 'skip';

function option<T extends string>(ctx: Koa.Context, name: string, values: readonly T[], dflt: T): T {
  const v = qs(ctx, name) ?? dflt;
  if (!(values as readonly string[]).includes(v)) {
    throw rundeckError('bad_request', 'api.error.parameter.not.inList', `the value "${v}" for parameter "${name}" was invalid. It must be in the list: [${values.join(', ')}]`);
  }
  return v as T;
}

export function mountJobRoutes(router: Router, deps: AppDeps, heavy: Koa.Middleware): void {
  router.get('/project/:project/jobs', heavy, async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorizeNamed(ctx, 'read', { type: 'project', project: project.name }, () => projectNotFound(project.name));
    const keep = jobFilter(ctx);
    const offset = qint(ctx, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
    const max = qint(ctx, 'max', -1, -1, Number.MAX_SAFE_INTEGER);
    const jobs = readableJobs(ctx, (await listJobs(deps.pool, project.id)).filter(keep));
    const l = links(ctx, deps);
    ctx.body = jobs.slice(offset, max >= 0 ? offset + max : undefined).map((j) => jobView(l, j));
  });

  router.get('/project/:project/jobs/export', heavy, async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorizeNamed(ctx, 'read', { type: 'project', project: project.name }, () => projectNotFound(project.name));
    const format = exportFormat(ctx);
    const jobs = readableJobs(ctx, (await listJobs(deps.pool, project.id)).filter(jobFilter(ctx)));
    send(ctx, jobs.map((j) => exportable(ctx, j)), format);
  });

  router.post('/project/:project/jobs/import', heavy, async (ctx) => {
    const project = await mustGetProject(deps.pool, ctx.params.project!);
    authorizeNamed(ctx, 'read', { type: 'project', project: project.name }, () => projectNotFound(project.name));
    const dupe = option<DupeOption>(ctx, 'dupeOption', ['create', 'update', 'skip'], 'create');
    const uuids = option(ctx, 'uuidOption', ['preserve', 'remove'] as const, 'preserve');
    const doc = await importDocument(ctx, deps);
    let parsed: JobDefinition[];
    try {
      parsed = parseJobs(doc.text, doc.format).jobs;
    } catch (e) {
      if (isTandemError(e) && e.status === 400) throw rundeckError('bad_request', 'api.error.jobs.import.invalid', `Jobs Document was invalid for format ${doc.format}: ${e.message}`);
      throw e;
    }
    if (!parsed.length) throw rundeckError('bad_request', 'api.error.jobs.import.empty', 'Jobs Document did not define any jobs, or was invalid');
    for (const j of parsed) authorize(ctx, 'create', { type: 'job', ...jobResource({ project: project.name, name: j.name, group: j.group }) });
    const user = requirePrincipal(ctx).user;
    const l = links(ctx, deps);
    const succeeded: unknown[] = [];
    const failed: unknown[] = [];
    const skipped: unknown[] = [];
    // Rundeck imports each job on its own: one bad job fails alone and the answer says which.
    for (let i = 0; i < parsed.length; i++) {
      const def = uuids === 'remove' ? { ...parsed[i]!, uuid: undefined } : parsed[i]!;
      const index = i + 1;
      const named = { index, name: def.name, group: def.group ?? null, project: project.name };
      const linked = (id: string) => ({ ...named, id, href: href.job(l, id), permalink: permalink.job(l, id) });
      try {
        const outcome = await withTransaction(deps.pool, async (c) => {
          await assertWritable(c);
          const p = await mustGetProject(c, project.name);
          const existing = (def.uuid ? await getJob(c, def.uuid) : null) ?? (await getJobByName(c, project.name, def.group ?? '', def.name));
          if (existing && dupe === 'skip') return { skipped: existing.id };
          if (existing && dupe === 'create') {
            throw rundeckError('conflict', 'api.error.jobs.create.exists', `A job with the same ${def.uuid && existing.id === def.uuid ? `ID already exists: ${existing.id}` : `group and name already exists: ${existing.id}`}`);
          }
          // As Rundeck: replacing an existing job also needs `update` on it (it is listed in `failed` otherwise).
          if (existing && !mayUpdate(ctx, existing)) throw rundeckError('forbidden', 'api.error.item.unauthorized', `Unauthorized: Update Job ${existing.id}`);
          const [done] = await importJobs(c, p, [existing ? { ...def, uuid: existing.id } : def], user);
          return { imported: done!.id };
        });
        if ('skipped' in outcome) skipped.push(linked(outcome.skipped!));
        else succeeded.push(linked(outcome.imported!));
      } catch (e) {
        if (!isTandemError(e) || e.status >= 500) throw e;
        failed.push({ ...named, error: e.message });
      }
    }
    ctx.body = { succeeded, failed, skipped };
  });

  router.get('/job/:id', heavy, async (ctx) => {
    const job = await mustGetJob(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'read', { type: 'job', ...jobResource(job) }, () => jobNotFound(job.id));
    send(ctx, [exportable(ctx, job)], exportFormat(ctx));
  });

  router.delete('/job/:id', async (ctx) => {
    const job = await mustGetJob(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'delete', { type: 'job', ...jobResource(job) }, () => jobNotFound(job.id));
    await withTransaction(deps.pool, async (c) => {
      await assertWritable(c);
      if (!(await deleteJob(c, job.id))) throw new TandemError('not_found', `Job ID does not exist: ${job.id}`);
    });
    ctx.status = 204;
  });

  /** Bulk delete: `ids` (repeatable) / `idlist` (comma-separated) as parameters or in a JSON body; each id answered on its own. */
  const bulkDelete = async (ctx: Koa.Context) => {
    const body = objectBody(ctx.method === 'POST' ? await readBody(ctx, deps) : null);
    const fromBody = [...(Array.isArray(body.ids) ? body.ids : []), ...(typeof body.idlist === 'string' ? body.idlist.split(',') : [])].map(String);
    const ids = [...new Set([...fromBody, ...(qlist(ctx, 'ids') ?? []), ...(qlist(ctx, 'idlist', { commas: true }) ?? [])].map((s) => s.trim()).filter(Boolean))];
    if (!ids.length) throw rundeckError('bad_request', 'api.error.parameter.required', 'parameter "ids" is required');
    const succeeded: { id: string; message: string }[] = [];
    const failed: { id: string; errorCode: string; message: string }[] = [];
    for (const id of ids) {
      try {
        const job = await mustGetJob(deps.pool, id);
        authorizeNamed(ctx, 'delete', { type: 'job', ...jobResource(job) }, () => jobNotFound(job.id));
        await withTransaction(deps.pool, async (c) => {
          await assertWritable(c);
          if (!(await deleteJob(c, job.id))) throw new TandemError('not_found', `Job ID does not exist: ${id}`);
        });
        succeeded.push({ id, message: 'Job was successfully deleted' });
      } catch (e) {
        if (!isTandemError(e) || e.status >= 500) throw e;
        failed.push({ id, errorCode: e.status === 404 ? 'notfound' : e.status === 403 ? 'unauthorized' : 'failed', message: e.message });
      }
    }
    ctx.body = { requestCount: ids.length, allsuccessful: failed.length === 0, succeeded, failed };
  };
  router.delete('/jobs/delete', bulkDelete);
  router.post('/jobs/delete', bulkDelete);

  router.get('/job/:id/info', async (ctx) => {
    const job = await mustGetJob(deps.pool, ctx.params.id!);
    authorizeNamed(ctx, 'read', { type: 'job', ...jobResource(job) }, () => jobNotFound(job.id));
    ctx.body = jobView(links(ctx, deps), job, { averageDuration: await jobAverageDuration(deps.pool, job.id) });
  });

  for (const what of ['execution', 'schedule'] as const) {
    for (const verb of ['enable', 'disable'] as const) {
      router.post(`/job/:id/${what}/${verb}`, async (ctx) => {
        const job = await mustGetJob(deps.pool, ctx.params.id!);
        authorizeNamed(ctx, 'update', { type: 'job', ...jobResource(job) }, () => jobNotFound(job.id));
        if (what === 'schedule' && !job.definition.schedule) {
          throw rundeckError('bad_request', 'api.error.job.toggleSchedule.notScheduled', `Cannot toggle schedule for Job ${job.id}: not a scheduled Job`);
        }
        const on = verb === 'enable';
        const user = requirePrincipal(ctx).user;
        await withTransaction(deps.pool, async (c) => {
          await assertWritable(c);
          const flags = what === 'execution' ? { execution: on, schedule: null } : { execution: null, schedule: on };
          if (!(await setJobEnabled(c, job.id, flags, user))) throw new TandemError('not_found', `Job ID does not exist: ${job.id}`);
        });
        ctx.body = { success: true };
      });
    }
  }
}
