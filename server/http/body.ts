/**
 * Request bodies, at most `server.bodyLimit` bytes (413 beyond, checked on
 * Content-Length first and then while reading, so a lying client cannot make
 * the server buffer more).
 */
import type Koa from 'koa';
import { TandemError } from '../errors.js';

export async function readText(ctx: Koa.Context, limit: number): Promise<string> {
  const length = Number(ctx.get('content-length') || 0);
  if (length > limit) throw new TandemError('payload_too_large', `request body is ${length} bytes, over the limit of ${limit} bytes`);
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
  return Buffer.concat(chunks).toString('utf8');
}

/** A JSON object body; an empty body is `{}`. */
export async function readJsonObject(ctx: Koa.Context, limit: number): Promise<Record<string, unknown>> {
  if (ctx.request.type && !ctx.is('application/json')) throw new TandemError('unsupported_media_type', 'send Content-Type: application/json');
  const text = await readText(ctx, limit);
  if (!text.trim()) return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new TandemError('bad_request', `invalid JSON: ${(e as Error).message}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new TandemError('bad_request', 'expected a JSON object');
  return data as Record<string, unknown>;
}

export type DocumentFormat = 'yaml' | 'json';

/** A job document: YAML or JSON chosen by Content-Type. */
export async function readJobDocument(ctx: Koa.Context, limit: number): Promise<{ format: DocumentFormat; text: string }> {
  let format: DocumentFormat;
  if (ctx.is('application/json')) format = 'json';
  else if (ctx.is('application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml')) format = 'yaml';
  else throw new TandemError('unsupported_media_type', 'send job definitions as application/yaml or application/json');
  const text = await readText(ctx, limit);
  if (!text.trim()) throw new TandemError('bad_request', 'empty job document');
  return { format, text };
}
