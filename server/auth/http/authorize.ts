/**
 * The policy check every API route makes before acting:
 * `authorize(ctx, 'run', { type: 'job', project, job: { name, group } })`.
 * A denial throws 403 naming the action and is written to the audit trail.
 */
import type Koa from 'koa';
import { TandemError } from '../../errors.js';
import type { Action, Resource } from '../acl/types.js';
import { recordAudit } from '../audit.js';
import { bookkeepingWrite } from '../siteWrites.js';
import { authState, requirePrincipal, requireService } from '../principal.js';

export function describeResource(r: Resource): string {
  const job = r.job ? `${r.project ?? ''}/${r.job.group ? r.job.group + '/' : ''}${r.job.name}` : undefined;
  switch (r.type) {
    case 'project':
      return r.project ? `project ${r.project}` : 'projects';
    case 'job':
      return job ? `job ${job}` : `jobs in project ${r.project ?? ''}`;
    case 'execution':
      return job ? `executions of job ${job}` : `executions in project ${r.project ?? ''}`;
    case 'system':
      return 'the system';
    case 'token':
      return 'API tokens';
    case 'audit':
      return 'the audit trail';
    case 'node':
      return `nodes of project ${r.project ?? ''}`;
  }
}

export function authorize(ctx: Koa.Context, action: Action, resource: Resource): void {
  const principal = requirePrincipal(ctx);
  const svc = requireService(ctx);
  const decision = svc.policies.decide(principal, action, resource);
  if (decision.allowed) return;
  const what = describeResource(resource);
  // In the background (authorize is synchronous), and not on a passive site, which cannot write.
  void bookkeepingWrite(svc.pool, svc.log, 'an ACL denial in the audit trail', () => recordAudit(svc.pool, {
    event: 'acl.denied',
    outcome: 'denied',
    username: principal.user,
    clientAddr: authState(ctx).clientAddr ?? null,
    target: what,
    details: { action, resource, reason: decision.reason, method: ctx.method, path: ctx.path },
  }));
  svc.log.info('access denied', { user: principal.user, action, target: what, reason: decision.reason });
  throw new TandemError('forbidden', `not allowed to ${action} ${what}`, { details: { action } });
}
