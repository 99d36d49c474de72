/**
 * POST|GET /api/v1/tokens, DELETE /api/v1/tokens/:id. Everyone allowed to
 * create tokens creates them for themselves with at most their own roles;
 * a token administrator (`admin` on token) may create them for another user,
 * with at most the roles that user had at their last login, and may list and
 * revoke anybody's.
 */
import type Router from '@koa/router';
import type Koa from 'koa';
import { TandemError } from '../../errors.js';
import { parseDuration } from '../../config/fields.js';
import { recordAudit } from '../audit.js';
import { authState, requirePrincipal, requireService } from '../principal.js';
import { createToken, tokenJson, validateRoles } from '../tokens.js';
import { getToken } from '../sql/get-token.js';
import { getProfileRoles } from '../sql/get-profile.js';
import { listTokens } from '../sql/list-tokens.js';
import { revokeToken } from '../sql/revoke-token.js';
import { authorize } from './authorize.js';
import { assertAuthWritable } from '../site-writes.js';
import { bodyLimits, optString, optStringList, readJsonOrForm } from '../../http/body.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function isTokenAdmin(ctx: Koa.Context): boolean {
  const svc = requireService(ctx);
  return svc.policies.decide(requirePrincipal(ctx), 'admin', { type: 'token' }).allowed;
}

function parseExpiry(data: Record<string, unknown>): Date | undefined {
  const expires = optString(data, 'expires', 100);
  const expiresAt = optString(data, 'expiresAt', 100);
  if (expires !== undefined && expiresAt !== undefined)
    throw new TandemError('validation_failed', 'give expires (a duration) or expiresAt (a time), not both', { field: 'expires' });
  if (expires !== undefined) {
    try {
      return new Date(Date.now() + parseDuration(expires));
    } catch (why) {
      throw new TandemError('validation_failed', `expires: ${String(why)}`, { field: 'expires' });
    }
  }
  if (expiresAt !== undefined) {
    const d = new Date(expiresAt);
    if (Number.isNaN(d.getTime())) throw new TandemError('validation_failed', 'expiresAt: not an ISO 8601 time', { field: 'expiresAt' });
    return d;
  }
  return undefined;
}

export function mountTokenRoutes(router: Router): void {
  router.post('/api/v1/tokens', async (ctx) => {
    const svc = requireService(ctx);
    const p = requirePrincipal(ctx);
    authorize(ctx, 'create', { type: 'token' });
    await assertAuthWritable(svc.pool);
    const { data } = await readJsonOrForm(ctx, bodyLimits(svc.config.server));
    const owner = optString(data, 'user', 256) ?? p.user;
    let ownerRoles = p.roles;
    if (owner !== p.user) {
      authorize(ctx, 'admin', { type: 'token' });
      const known = await getProfileRoles(svc.pool, owner);
      if (!known) throw new TandemError('validation_failed', `user ${owner} has never logged in; their roles are unknown (use tandem token create)`, { field: 'user' });
      ownerRoles = known.filter((r) => p.roles.includes(r));
    }
    const roles = optStringList(data, 'roles') ?? ownerRoles;
    validateRoles(roles);
    const wider = roles.filter((r) => !ownerRoles.includes(r));
    if (wider.length) throw new TandemError('forbidden', `a token cannot have roles its owner does not have: ${wider.join(', ')}`, { details: { field: 'roles' } });
    const expiresAt = parseExpiry(data);
    const description = optString(data, 'description', 500) ?? '';
    const created = await createToken(svc.pool, { user: owner, roles, expiresAt, description, createdBy: p.user });
    await recordAudit(svc.pool, {
      event: 'token.created',
      outcome: 'success',
      username: p.user,
      clientAddr: authState(ctx).clientAddr ?? null,
      target: `token ${created.id}`,
      details: { owner, roles, expiresAt: expiresAt?.toISOString() ?? null },
    });
    const rec = await getToken(svc.pool, created.id);
    ctx.status = 201;
    ctx.body = { ...tokenJson(rec!), token: created.token };
  });

  router.get('/api/v1/tokens', async (ctx) => {
    const svc = requireService(ctx);
    const p = requirePrincipal(ctx);
    authorize(ctx, 'read', { type: 'token' });
    const all = ctx.query.all === 'true' || ctx.query.all === '1';
    const user = typeof ctx.query.user === 'string' ? ctx.query.user : undefined;
    if (all || (user && user !== p.user)) authorize(ctx, 'admin', { type: 'token' });
    const list = await listTokens(svc.pool, all ? null : (user ?? p.user));
    ctx.body = { tokens: list.map(tokenJson) };
  });

  router.delete('/api/v1/tokens/:id', async (ctx) => {
    const svc = requireService(ctx);
    const p = requirePrincipal(ctx);
    authorize(ctx, 'delete', { type: 'token' });
    const id = ctx.params.id!;
    const rec = UUID_RE.test(id) ? await getToken(svc.pool, id) : undefined;
    // Somebody else's token is "not found" unless you administer tokens: ids are not to be probed.
    if (!rec || (rec.username !== p.user && !isTokenAdmin(ctx))) throw new TandemError('not_found', `no token ${id}`);
    await assertAuthWritable(svc.pool);
    const revoked = await revokeToken(svc.pool, id, p.user);
    if (revoked)
      await recordAudit(svc.pool, {
        event: 'token.revoked',
        outcome: 'success',
        username: p.user,
        clientAddr: authState(ctx).clientAddr ?? null,
        target: `token ${id}`,
        details: { owner: rec.username },
      });
    ctx.status = 204;
  });
}
