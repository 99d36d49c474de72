/**
 * The one body parser of the HTTP server (API, auth and Rundeck-compatible
 * routes). Every route authorizes before it calls these, so that a caller
 * who may not act never makes the server read or parse anything.
 *
 * A body is refused, before it is parsed, when it is:
 * - over `server.bodyLimit` bytes (413; checked on Content-Length and again while reading);
 * - nested deeper than `server.maxNestingDepth`, or with more than
 *   `server.maxDocumentNodes` values (400): a linear scan of the text,
 *   so a `[[[[…` document costs a few milliseconds and never reaches a
 *   recursive parser (see document-shape.ts);
 * and after it is parsed, when a string holds a NUL character or the bytes
 * are not valid UTF-8 (400 naming the field: PostgreSQL text cannot store
 * NUL, and silently replacing bytes would change what the user sent).
 */
import type Koa from 'koa';
import { parse as parseYaml } from 'yaml';
import { TandemError } from '../errors.js';
import { checkJsonShape, checkYamlShape, findBadString, type ShapeLimits } from './document-shape.js';

export interface BodyLimits extends ShapeLimits {
  /** Largest body in bytes (`server.bodyLimit`). */
  bytes: number;
}

/** The limits the configuration sets (config.server). */
export function bodyLimits(server: { bodyLimit: number; maxNestingDepth: number; maxDocumentNodes: number }): BodyLimits {
  return { bytes: server.bodyLimit, maxDepth: server.maxNestingDepth, maxNodes: server.maxDocumentNodes };
}

/** The raw request body, refused past `limit` bytes (by Content-Length first, then while reading). */
export async function readBytes(ctx: Koa.Context, limit: number): Promise<Buffer> {
  const length = Number(ctx.get('content-length') || 0);
  if (length > limit) {
    ctx.set('Connection', 'close');
    throw new TandemError('payload_too_large', `request body is ${length} bytes, over the limit of ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      // Stop reading; the connection is closed after the answer.
      ctx.set('Connection', 'close');
      throw new TandemError('payload_too_large', `request body over the limit of ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The body as text; `valid: false` when its bytes are not UTF-8 (the text then holds U+FFFD where they were). */
export async function readText(ctx: Koa.Context, limit: number): Promise<{ text: string; valid: boolean }> {
  const bytes = await readBytes(ctx, limit);
  try {
    return { text: strictUtf8.decode(bytes), valid: true };
  } catch {
    return { text: bytes.toString('utf8'), valid: false };
  }
}

/** Refuse NUL characters and invalid UTF-8 in a parsed value, naming the field (`root` names the top). */
export function refuseBadStrings(data: unknown, opts: { validUtf8: boolean; root?: string }): void {
  const bad = findBadString(data, { replacement: !opts.validUtf8, root: opts.root ?? '' });
  if (bad) {
    const field = bad.field || 'body';
    if (bad.kind === 'nul') throw new TandemError('bad_request', `${field} contains a NUL character`, { field });
    throw new TandemError('bad_request', `${field} is not valid UTF-8`, { field });
  }
  if (!opts.validUtf8) throw new TandemError('bad_request', 'the request body is not valid UTF-8', { field: 'body' });
}

function parseJsonText(text: string, limits: ShapeLimits): unknown {
  checkJsonShape(text, limits);
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TandemError('bad_request', `invalid JSON: ${(e as Error).message.slice(0, 200)}`);
  }
}

function asObject(data: unknown): Record<string, unknown> {
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new TandemError('bad_request', 'expected a JSON object');
  return data as Record<string, unknown>;
}

/** A JSON object body; an empty body is `{}`. */
export async function readJsonObject(ctx: Koa.Context, limits: BodyLimits): Promise<Record<string, unknown>> {
  if (ctx.request.type && !ctx.is('application/json')) throw new TandemError('unsupported_media_type', 'send Content-Type: application/json');
  const { text, valid } = await readText(ctx, limits.bytes);
  if (!text.trim()) return {};
  const data = asObject(parseJsonText(text, limits));
  refuseBadStrings(data, { validUtf8: valid });
  return data;
}

export type BodyKind = 'json' | 'form';

/** A JSON object or an HTML form (the login and logout routes); an empty body is `{}`. */
export async function readJsonOrForm(ctx: Koa.Context, limits: BodyLimits): Promise<{ kind: BodyKind; data: Record<string, unknown> }> {
  const kind: BodyKind = ctx.is('application/x-www-form-urlencoded') ? 'form' : 'json';
  if (!ctx.request.length && !ctx.get('transfer-encoding')) return { kind, data: {} };
  if (ctx.request.type && !ctx.is('application/json', 'application/x-www-form-urlencoded'))
    throw new TandemError('unsupported_media_type', 'send application/json or application/x-www-form-urlencoded');
  const { text, valid } = await readText(ctx, limits.bytes);
  if (!text.trim()) return { kind, data: {} };
  const data = kind === 'form' ? Object.fromEntries(new URLSearchParams(text)) : asObject(parseJsonText(text, limits));
  refuseBadStrings(data, { validUtf8: valid });
  return { kind, data };
}

export type DocumentFormat = 'yaml' | 'json';

const NUL_ESCAPE = /\\(u0000|0|x00|U00000000)/;

/**
 * A job document: YAML or JSON chosen by Content-Type, its shape checked
 * (depth, values, NUL, UTF-8) before the job reader parses it.
 */
export async function readJobDocument(ctx: Koa.Context, limits: BodyLimits): Promise<{ format: DocumentFormat; text: string }> {
  let format: DocumentFormat;
  if (ctx.is('application/json')) format = 'json';
  else if (ctx.is('application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml')) format = 'yaml';
  else throw new TandemError('unsupported_media_type', 'send job definitions as application/yaml or application/json');
  const { text, valid } = await readText(ctx, limits.bytes);
  if (!text.trim()) throw new TandemError('bad_request', 'empty job document');
  if (format === 'json') checkJsonShape(text, limits);
  else checkYamlShape(text, limits);
  const literalNul = text.includes('\u0000');
  // A NUL written as an escape (JSON "\u0000", YAML "\0", "\x00") appears only once parsed.
  if (!valid || literalNul || NUL_ESCAPE.test(text)) {
    // Parse only to name the field (the shape is already known to be small); the job reader parses again.
    let data: unknown;
    try {
      data = format === 'json' ? JSON.parse(text) : parseYaml(text, { maxAliasCount: 100 });
    } catch {
      data = undefined;
    }
    refuseBadStrings(Array.isArray(data) ? data : [data], { validUtf8: valid, root: 'jobs' });
    if (literalNul) throw new TandemError('bad_request', 'the job document contains a NUL character', { field: 'body' });
  }
  return { format, text };
}

/** An optional string field; 400 naming the field when it has another type. */
export function optString(data: Record<string, unknown>, field: string, max = 10_000): string | undefined {
  const v = data[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new TandemError('validation_failed', `${field} must be a string`, { field });
  if (v.length > max) throw new TandemError('validation_failed', `${field} is longer than ${max} characters`, { field });
  return v;
}

export function optStringList(data: Record<string, unknown>, field: string): string[] | undefined {
  const v = data[field];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new TandemError('validation_failed', `${field} must be a list of strings`, { field });
  return v as string[];
}
