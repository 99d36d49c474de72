/**
 * Audit rows for every successful state-changing API request (job created,
 * changed — by PUT or by re-import — or deleted, execution started or aborted, projects...), written by
 * the authentication middleware after the handler answered: no route can
 * forget to record itself. Routes that audit themselves in more detail
 * (tokens) are skipped. Failed requests are not recorded here (an ACL
 * denial is, by authorize).
 */
import type Koa from 'koa';
import type { AuthService } from '../service.js';
import { authState } from '../principal.js';
import { recordAudit } from '../audit.js';

interface RouteEvent {
  method: string;
  pattern: RegExp;
  event: string;
}

const EVENTS: RouteEvent[] = [
  { method: 'POST', pattern: /^\/api\/v1\/projects$/, event: 'project.created' },
  { method: 'DELETE', pattern: /^\/api\/v1\/projects\/[^/]+$/, event: 'project.deleted' },
  { method: 'POST', pattern: /^\/api\/v1\/projects\/[^/]+\/jobs$/, event: 'job.created' },
  { method: 'PUT', pattern: /^\/api\/v1\/jobs\/[^/]+$/, event: 'job.updated' },
  { method: 'DELETE', pattern: /^\/api\/v1\/jobs\/[^/]+$/, event: 'job.deleted' },
  { method: 'POST', pattern: /^\/api\/v1\/jobs\/[^/]+\/run$/, event: 'execution.started' },
  { method: 'POST', pattern: /^\/api\/v1\/executions\/[^/]+\/abort$/, event: 'execution.aborted' },
  // The same changes through Rundeck's API (server/rundeck-api/); its GET abort audits itself.
  { method: 'POST', pattern: /^\/api\/\d+\/projects$/, event: 'project.created' },
  { method: 'DELETE', pattern: /^\/api\/\d+\/project\/[^/]+$/, event: 'project.deleted' },
  { method: 'POST', pattern: /^\/api\/\d+\/project\/[^/]+\/jobs\/import$/, event: 'job.imported' },
  { method: 'DELETE', pattern: /^\/api\/\d+\/job\/[^/]+$/, event: 'job.deleted' },
  { method: 'DELETE', pattern: /^\/api\/\d+\/jobs\/delete$/, event: 'job.deleted' },
  { method: 'POST', pattern: /^\/api\/\d+\/jobs\/delete$/, event: 'job.deleted' },
  { method: 'POST', pattern: /^\/api\/\d+\/job\/[^/]+\/(execution|schedule)\/(enable|disable)$/, event: 'job.updated' },
  { method: 'POST', pattern: /^\/api\/\d+\/job\/[^/]+\/(run|executions)$/, event: 'execution.started' },
  { method: 'POST', pattern: /^\/api\/\d+\/execution\/[^/]+\/abort$/, event: 'execution.aborted' },
  { method: 'DELETE', pattern: /^\/api\/\d+\/execution\/[^/]+$/, event: 'execution.deleted' },
  { method: 'POST', pattern: /^\/api\/\d+\/executions\/delete$/, event: 'execution.deleted' },
  { method: 'DELETE', pattern: /^\/api\/\d+\/job\/[^/]+\/executions$/, event: 'execution.deleted' },
];

const SELF_AUDITED = /^\/api\/v1\/tokens(\/|$)/;

const jobRef = (j: unknown) => (j && typeof j === 'object' ? { id: (j as Record<string, unknown>).id, name: (j as Record<string, unknown>).name } : j);

/** Ids the answer names (an execution's id, the jobs of an import), for the audit row. */
function idsFromBody(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Buffer.isBuffer(body)) return {};
  const b = body as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (typeof b.id === 'string' || typeof b.id === 'number') out.id = b.id;
  if (Array.isArray(b.jobs)) out.jobs = b.jobs.slice(0, 100).map(jobRef);
  return out;
}

interface Entry {
  event: string;
  ids: Record<string, unknown>;
}

/**
 * The audit rows of one answer. A job import both creates jobs and replaces
 * existing ones (matched by uuid or group + name), and its answer marks each
 * job `created` or not: the new ones are recorded as job.created and the
 * changed ones as job.updated, so that a change reads the same in the trail
 * whether it came by re-import or by PUT.
 */
function entries(event: string, body: unknown): Entry[] {
  const ids = idsFromBody(body);
  const jobs = body && typeof body === 'object' && !Buffer.isBuffer(body) ? (body as Record<string, unknown>).jobs : undefined;
  if (event !== 'job.created' || !Array.isArray(jobs)) return [{ event, ids }];
  const changed = (j: unknown) => !!j && typeof j === 'object' && (j as Record<string, unknown>).created === false;
  const out: Entry[] = [];
  const created = jobs.filter((j) => !changed(j));
  const updated = jobs.filter(changed);
  if (created.length) out.push({ event: 'job.created', ids: { ...ids, jobs: created.slice(0, 100).map(jobRef) } });
  if (updated.length) out.push({ event: 'job.updated', ids: { ...ids, jobs: updated.slice(0, 100).map(jobRef) } });
  return out.length ? out : [{ event, ids }];
}

export async function auditChange(ctx: Koa.Context, svc: AuthService): Promise<void> {
  if (ctx.status >= 400 || SELF_AUDITED.test(ctx.path)) return;
  const p = authState(ctx).principal;
  if (!p) return;
  const known = EVENTS.find((e) => e.method === ctx.method && e.pattern.test(ctx.path));
  for (const { event, ids } of entries(known?.event ?? `api.${ctx.method.toLowerCase()}`, ctx.body)) {
    try {
      await recordAudit(svc.pool, {
        event,
        outcome: 'success',
        username: p.user,
        clientAddr: authState(ctx).clientAddr ?? null,
        target: ctx.path,
        details: { method: ctx.method, status: ctx.status, via: p.via, ...ids },
      });
    } catch (e) {
      // The change itself is done and committed; failing the answer now would invite a retry that repeats it.
      svc.log.error('audit event not written', { event, path: ctx.path, user: p.user, err: e as Error });
    }
  }
}
