/**
 * Key Storage API, as Rundeck's /storage/keys (server/keys/README.md):
 * POST creates (201 + metadata, 409 when taken), PUT replaces (404 when
 * absent), DELETE answers 204, GET answers an entry's metadata, a public
 * key's content (Accept: application/pgp-keys) or a directory listing.
 * Private keys and passwords are never answered (403 for their content).
 * Every request is authorized (ACL resource `storage`, by path) before its
 * body is read.
 */
import type Koa from 'koa';
import { authorize } from '../../auth/middleware.js';
import { requirePrincipal, requireService } from '../../auth/principal.js';
import { requestOrigin } from '../../auth/http/request.js';
import type { Action } from '../../auth/acl/types.js';
import { TandemError } from '../../errors.js';
import { KeyStorage, MAX_KEY_BYTES, keyMeta } from '../../keys/key-storage.js';
import { baseName, normalizeKeyPath } from '../../keys/paths.js';
import type { KeyRow } from '../../keys/sql/key-row.js';
import type { AppDeps } from '../deps.js';
import { readBytes } from '../body.js';

const PREFIX = '/api/v1/storage/';
const METHODS: Record<string, Action> = { GET: 'read', HEAD: 'read', POST: 'create', PUT: 'update', DELETE: 'delete' };

export function storageRoutes(deps: AppDeps): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.path !== '/api/v1/storage/keys' && !ctx.path.startsWith('/api/v1/storage/keys/')) return next();
    const origin = requestOrigin(ctx, deps.config.server.trustProxy);
    await keyStorageRequest(ctx, deps, { rest: ctx.path.slice(PREFIX.length), urlPrefix: `${origin}${PREFIX}` });
  };
}

/**
 * One Key Storage request, shared by `/api/v1/storage/keys/...` and Rundeck's
 * `/api/N/storage/keys/...` (server/rundeck-api/routes/storage.ts): `rest` is
 * the request path after `storage/` (still percent-encoded), `urlPrefix` what
 * the answer's `url`s start with (ending in `storage/`).
 */
export async function keyStorageRequest(ctx: Koa.Context, deps: AppDeps, where: { rest: string; urlPrefix: string }): Promise<void> {
  const action = METHODS[ctx.method];
  if (!action) {
    ctx.set('Allow', Object.keys(METHODS).join(', '));
    throw new TandemError('bad_request', `method ${ctx.method} is not allowed on key storage`, { status: 405 });
  }
  let raw: string;
  try {
    raw = decodeURIComponent(where.rest);
  } catch {
    throw new TandemError('validation_failed', 'invalid percent-encoding in the key storage path', { field: 'path' });
  }
  const path = normalizeKeyPath(raw);
  requirePrincipal(ctx);
  authorize(ctx, action, { type: 'storage', path });
  const keys = deps.keys;
  if (!keys) throw new TandemError('unavailable', 'key storage is not available on this server');
  const url = (p: string) => `${where.urlPrefix}${p.split('/').map(encodeURIComponent).join('/')}`;
  const fileView = (r: KeyRow) => ({ meta: keyMeta(r), url: url(r.path), name: baseName(r.path), type: 'file', path: r.path });
  const user = requirePrincipal(ctx).user;

  if (action === 'create' || action === 'update') {
    if (path === 'keys') throw new TandemError('validation_failed', 'name the entry: storage/keys/DIR/NAME', { field: 'path' });
    // Before reading the body: an unknown type is refused without buffering anything.
    KeyStorage.keyTypeOf(ctx.get('content-type'));
    const content = await readBytes(ctx, Math.min(MAX_KEY_BYTES, deps.config.server.bodyLimit));
    const row = action === 'create'
      ? await keys.create(path, ctx.get('content-type'), content, user)
      : await keys.replace(path, ctx.get('content-type'), content, user);
    ctx.status = action === 'create' ? 201 : 200;
    ctx.body = fileView(row);
    return;
  }
  if (action === 'delete') {
    await keys.remove(path);
    ctx.status = 204;
    return;
  }
  const found = await keys.lookup(path);
  if (found.type === 'file') {
    const want = ctx.accepts('application/json', 'application/pgp-keys', 'application/octet-stream', 'application/x-rundeck-data-password');
    if (want === 'application/json' || want === false) {
      ctx.body = fileView(found.entry);
      return;
    }
    const { row, content } = await keys.publicKey(path);
    ctx.type = row.contentType;
    ctx.body = content;
    return;
  }
  // A directory: its children the caller may read (no audit row for each hidden one).
  const principal = requirePrincipal(ctx);
  const policies = requireService(ctx).policies;
  const visible = (p: string) => policies.decide(principal, 'read', { type: 'storage', path: p }).allowed;
  ctx.body = {
    path: found.path,
    type: 'directory',
    url: url(found.path),
    name: baseName(found.path),
    resources: [
      ...found.directories.filter(visible).map((d) => ({ path: d, type: 'directory', url: url(d) + '/', name: baseName(d) })),
      ...found.files.filter((f) => visible(f.path)).map(fileView),
    ],
  };
}
