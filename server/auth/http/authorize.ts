/**
 * The policy check every API route makes before acting:
 * `authorize(ctx, 'run', { type: 'job', project, job: { name, group } })`.
 * A denial throws 403 naming the action and is written to the audit trail.
 */
import type Koa from 'koa';
import { TandemError } from '../../errors.js';
import type { Action, Resource } from '../acl/types.js';
import { recordAudit } from '../audit.js';
import { bookkeepingWrite } from '../site-writes.js';
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
    case 'storage':
      return `key storage ${r.path ?? 'keys'}`;
  }
}

export function authorize(ctx: Koa.Context, action: Action, resource: Resource): void {
  const principal = requirePrincipal(ctx);
  const svc = requireService(ctx);
  const decision = svc.policies.decide(principal, action, resource);
  if (decision.allowed) return;
  throw denied(ctx, action, resource, decision.reason);
}

/**
 * `authorize` for something the URL names (a job, an execution, a project):
 * a caller who may not even read it gets the same 404 as for something that
 * does not exist (`notFound`), so that a 403 never confirms what the caller
 * may not see; a caller who may read it but not do `action` gets the 403.
 * Both denials are audited.
 */
export function authorizeNamed(ctx: Koa.Context, action: Action, resource: Resource, notFound: () => TandemError): void {
  const principal = requirePrincipal(ctx);
  const svc = requireService(ctx);
  if (action !== 'read') {
    const read = svc.policies.decide(principal, 'read', resource);
    if (!read.allowed) {
      denied(ctx, action, resource, read.reason);
      throw notFound();
    }
  }
  const decision = svc.policies.decide(principal, action, resource);
  if (decision.allowed) return;
  const err = denied(ctx, action, resource, decision.reason);
  if (action === 'read') throw notFound();
  throw err;
}

/**
 * Before a body that names the resources is read: 403 unless one of
 * `actions` could be allowed on some resource of this kind
 * (PolicySet.mayEver). Each resource is still authorized once the body is
 * known. With `container` (the project the URL names): a caller who may not
 * read it gets `notFound()` instead of the 403.
 */
export function authorizeAny(ctx: Koa.Context, actions: readonly Action[], resource: Resource, container?: Resource, notFound?: () => TandemError): void {
  const principal = requirePrincipal(ctx);
  const svc = requireService(ctx);
  if (actions.some((a) => svc.policies.mayEver(principal, a, resource))) return;
  const err = denied(ctx, actions.join(' or '), resource, 'no rule allows it for any name');
  if (container && notFound && !svc.policies.decide(principal, 'read', container).allowed) throw notFound();
  throw err;
}

/** Audit and log a denial; the 403 to throw. */
function denied(ctx: Koa.Context, action: string, resource: Resource, reason: string): TandemError {
  const principal = requirePrincipal(ctx);
  const svc = requireService(ctx);
  const decision = { reason };
  const what = describeResource(resource);
  // In the background (authorize is synchronous), and not on a passive site, which cannot write.
  void bookkeepingWrite(svc.pool, svc.log, 'an ACL denial in the audit trail', (c) => recordAudit(c, {
    event: 'acl.denied',
    outcome: 'denied',
    username: principal.user,
    clientAddr: authState(ctx).clientAddr ?? null,
    target: what,
    details: { action, resource, reason: decision.reason, method: ctx.method, path: ctx.path },
  }));
  svc.log.info('access denied', { user: principal.user, action, target: what, reason: decision.reason });
  return new TandemError('forbidden', `not allowed to ${action} ${what}`, { details: { action } });
}
