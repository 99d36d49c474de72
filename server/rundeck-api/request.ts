/** Request helpers shared by the Rundeck routes: the version, links, parameters, bodies. */
import type Koa from 'koa';
import { TandemError } from '../errors.js';
import { bodyLimits, readText, refuseBadStrings } from '../http/body.js';
import { checkJsonShape } from '../http/document-shape.js';
import type { AppDeps } from '../http/deps.js';
import { linksFor, type Links } from './urls.js';
import { pathVersion } from './version.js';
import { rundeckError } from './errors.js';

export function links(ctx: Koa.Context, deps: AppDeps): Links {
  return linksFor(ctx, deps.config, pathVersion(ctx.path)!);
}

/** A query parameter as one string (the first when repeated). */
export function qs(ctx: Koa.Context, name: string): string | undefined {
  const v = ctx.query[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s === '' ? undefined : s;
}

/** A query parameter that may be repeated or comma-separated, as a list. */
export function qlist(ctx: Koa.Context, name: string, opts: { commas?: boolean } = {}): string[] | undefined {
  const v = ctx.query[name];
  if (v === undefined) return undefined;
  const all = (Array.isArray(v) ? v : [v]).flatMap((s) => (opts.commas ? s.split(',') : [s])).map((s) => s.trim()).filter(Boolean);
  return all.length ? all : undefined;
}

export function qint(ctx: Koa.Context, name: string, dflt: number, min: number, max: number): number {
  const s = qs(ctx, name);
  if (s === undefined) return dflt;
  if (!/^-?\d+$/.test(s) || Number(s) < min || Number(s) > max) {
    throw rundeckError('bad_request', 'api.error.parameter.invalid', `The value "${s}" for parameter "${name}" is not valid: a whole number from ${min} to ${max}`);
  }
  return Number(s);
}

export function qbool(ctx: Koa.Context, name: string): boolean | undefined {
  const s = qs(ctx, name);
  if (s === undefined) return undefined;
  if (s !== 'true' && s !== 'false') throw rundeckError('bad_request', 'api.error.parameter.invalid', `The value "${s}" for parameter "${name}" is not valid: true or false`);
  return s === 'true';
}

/** A JSON body (object or array), an urlencoded form as an object, or `null` for an empty body; through the one body parser's limits. */
export async function readBody(ctx: Koa.Context, deps: AppDeps): Promise<unknown> {
  const limits = bodyLimits(deps.config.server);
  const { text, valid } = await readText(ctx, limits.bytes);
  if (!text.trim()) return null;
  let data: unknown;
  if (ctx.is('application/x-www-form-urlencoded')) data = Object.fromEntries(new URLSearchParams(text));
  else {
    if (ctx.request.type && !ctx.is('application/json', 'text/json')) {
      throw new TandemError('unsupported_media_type', 'send application/json or application/x-www-form-urlencoded');
    }
    checkJsonShape(text, limits);
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new TandemError('bad_request', `invalid JSON: ${(e as Error).message.slice(0, 200)}`);
    }
  }
  refuseBadStrings(data, { validUtf8: valid });
  return data;
}

export function objectBody(body: unknown): Record<string, unknown> {
  if (body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) throw new TandemError('bad_request', 'expected a JSON object');
  return body as Record<string, unknown>;
}
