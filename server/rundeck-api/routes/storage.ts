/**
 * `storage/keys/...` (GET metadata or listing, GET a public key's content,
 * POST, PUT, DELETE): Tandem's Key Storage (server/keys/README.md) through
 * the very handler of `/api/v1/storage/keys/...`, so the ACL (`storage`, by
 * path, before the body is read), the content types, the audit and "private
 * keys and passwords are never readable" are the same. Only the `url`s (this
 * API version) and the errors (Rundeck's shape, by the edge) differ; a path
 * that is taken answers 409 `api.error.item.alreadyexists`, as Rundeck's; an
 * unknown content type 415 `api.error.item.unsupported-format`.
 */
import type Koa from 'koa';
import { TandemError } from '../../errors.js';
import type { AppDeps } from '../../http/deps.js';
import { keyStorageRequest } from '../../http/routes/storage.js';
import { rundeckError } from '../errors.js';
import { links } from '../request.js';

const STORAGE_PATH = /^\/api\/\d+\/storage\/(keys(?:\/.*)?)$/;

export function rundeckStorage(deps: AppDeps): Koa.Middleware {
  return async (ctx, next) => {
    const m = STORAGE_PATH.exec(ctx.path);
    if (!m) return next();
    const l = links(ctx, deps);
    try {
      await keyStorageRequest(ctx, deps, { rest: m[1]!, urlPrefix: `${l.base}/api/${l.version}/storage/` });
    } catch (e) {
      if (e instanceof TandemError && e.code === 'conflict' && ctx.method === 'POST') throw rundeckError('conflict', 'api.error.item.alreadyexists', e.message);
      // Not a job document: the general "format is not valid" rather than the job import's code.
      if (e instanceof TandemError && e.code === 'unsupported_media_type') throw rundeckError('unsupported_media_type', 'api.error.item.unsupported-format', e.message);
      throw e;
    }
  };
}
