/**
 * Serves the web UI: the shell page for every UI path (after a login check:
 * no session → the login form, coming back here afterwards), and the built,
 * content-hashed assets under /ui/assets/ with a year-long immutable cache.
 * Mounted after authentication, so the shell sees the principal.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type Koa from 'koa';
import { TandemError } from '../errors.js';
import { authState } from '../auth/principal.js';
import { readManifest, type UiManifest } from './assets.js';
import { ASSETS_PREFIX, UI_CSP, isUiPath, shellHtml } from './shell.js';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** Asset names as esbuild writes them (`app-HASH.js`): nothing else is read from disk. */
const ASSET_NAME = /^assets\/[A-Za-z0-9_-]+(\.[a-z]+)+$/;

export function uiRoutes(opts: { dir: string }): Koa.Middleware {
  // Read once per change of the manifest file would need a watcher; the manifest is tiny and
  // read per shell request, so a rebuild (make build) is served without a restart.
  const manifest = async (): Promise<UiManifest> => {
    const m = await readManifest(opts.dir);
    if (!m) throw new TandemError('unavailable', `the web UI is not built in ${opts.dir}: run \`make build\``);
    return m;
  };
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path.startsWith(ASSETS_PREFIX)) {
      const rel = ctx.path.slice(ASSETS_PREFIX.length);
      const type = TYPES[path.extname(rel)];
      if (!ASSET_NAME.test(rel) || !type) return next();
      let body: Buffer;
      try {
        body = await readFile(path.join(opts.dir, rel));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return next();
        throw e;
      }
      ctx.type = type;
      ctx.set('Cache-Control', 'public, max-age=31536000, immutable');
      ctx.body = body;
      return;
    }
    if (!isUiPath(ctx.path)) return next();
    if (!authState(ctx).principal) {
      ctx.set('Cache-Control', 'no-store');
      ctx.redirect(`/login?next=${encodeURIComponent(ctx.url)}`);
      ctx.status = 303;
      return;
    }
    const html = shellHtml(await manifest());
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.set('Content-Security-Policy', UI_CSP);
    ctx.body = html;
  };
}
