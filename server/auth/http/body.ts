/**
 * Request bodies of the auth routes: JSON or an HTML form, at most
 * `server.bodyLimit` bytes. A body already parsed by an app-wide parser
 * (ctx.request.body) is used as is.
 */
import type Koa from 'koa';
import { TandemError } from '../../errors.js';

export type BodyKind = 'json' | 'form';

export async function readBody(ctx: Koa.Context, limit: number): Promise<{ kind: BodyKind; data: Record<string, unknown> }> {
  const kind: BodyKind = ctx.is('application/x-www-form-urlencoded') ? 'form' : 'json';
  const parsed = (ctx.request as { body?: unknown }).body;
  if (parsed !== undefined) {
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TandemError('bad_request', 'expected a JSON object');
    return { kind, data: parsed as Record<string, unknown> };
  }
  const length = Number(ctx.get('content-length') || 0);
  if (length > limit) throw new TandemError('payload_too_large', `request body over the limit of ${limit} bytes`);
  if (!ctx.request.length && !ctx.get('transfer-encoding')) return { kind, data: {} };
  if (ctx.request.type && !ctx.is('application/json', 'application/x-www-form-urlencoded'))
    throw new TandemError('unsupported_media_type', 'send application/json or application/x-www-form-urlencoded');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new TandemError('payload_too_large', `request body over the limit of ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (kind === 'form') return { kind, data: Object.fromEntries(new URLSearchParams(text)) };
  if (!text.trim()) return { kind, data: {} };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new TandemError('bad_request', `invalid JSON: ${(e as Error).message}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new TandemError('bad_request', 'expected a JSON object');
  return { kind, data: data as Record<string, unknown> };
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
