/**
 * Node sources: where a project's resource model comes from. A project has an
 * ordered list; each is read on its own (`readSource`) and the catalog merges
 * them (later sources win for the same node name).
 *
 * - `file`: a resource document on the server's disk; format from `format`
 *   or the extension; a missing file is an empty model unless
 *   `requireFileExists` (Rundeck's default is false).
 * - `script`: runs `interpreter` (split on spaces) + `file` + `args` (split on
 *   spaces), parses stdout in `format`; a non-zero exit fails with Rundeck's
 *   "Script execution failed with result: N", empty output with "Script output
 *   was empty"; stderr goes to the server log; `RD_CONTEXT_PROJECT` and
 *   `RD_RUNDECK_PROJECT` name the project; killed after `timeout` seconds.
 * - `url`: http, https or file URL; `timeout` seconds; with `cache` (default)
 *   the ETag / Last-Modified of the last good answer are sent back and a 304
 *   keeps the last good nodes; format from the MIME type unless `format`.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { errorMessage, TandemError } from '../errors.js';
import type { Executor } from '../executions/executor.js';
import { shellQuote } from '../executions/local-executor.js';
import { FORMATS, formatFromExtension, formatFromMime, parseResources, type ResourceFormat } from './formats.js';
import type { NodeEntry } from './node-executor.js';

export const SOURCE_TYPES = ['file', 'script', 'url'] as const;

export type SourceSpec =
  | { type: 'file'; file: string; format?: ResourceFormat; requireFileExists: boolean }
  | { type: 'script'; file: string; interpreter?: string; args?: string; format: ResourceFormat; timeout: number }
  | { type: 'url'; url: string; format?: ResourceFormat; timeout: number; cache: boolean };

/** What a url source remembers between reads (conditional requests). */
export interface UrlCache {
  etag?: string;
  lastModified?: string;
}

export type SourceRead =
  | { kind: 'nodes'; nodes: NodeEntry[]; cache?: UrlCache }
  /** The URL answered 304: the last good nodes still stand. */
  | { kind: 'unchanged' };

const MAX_OUTPUT = 32 * 1024 * 1024;

function fail(field: string, message: string): TandemError {
  return new TandemError('validation_failed', `${field}: ${message}`, { field });
}

type Raw = Record<string, unknown>;

function str(raw: Raw, key: string, field: string, required: boolean): string | undefined {
  const v = raw[key];
  if (v === undefined || v === null || v === '') {
    if (required) throw fail(`${field}.${key}`, 'required');
    return undefined;
  }
  if (typeof v !== 'string') throw fail(`${field}.${key}`, 'must be a string');
  return v;
}

function num(raw: Raw, key: string, field: string, dflt: number, max: number): number {
  const v = raw[key];
  if (v === undefined || v === null || v === '') return dflt;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > max) throw fail(`${field}.${key}`, `must be a whole number of seconds from 1 to ${max}`);
  return n;
}

function bool(raw: Raw, key: string, field: string, dflt: boolean): boolean {
  const v = raw[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw fail(`${field}.${key}`, 'must be true or false');
}

function format(raw: Raw, field: string, required: boolean): ResourceFormat | undefined {
  const f = str(raw, 'format', field, required);
  if (f === undefined) return undefined;
  if (!(FORMATS as readonly string[]).includes(f)) throw fail(`${field}.format`, `must be one of ${FORMATS.join(', ')}`);
  return f as ResourceFormat;
}

function checkPath(p: string, field: string, allowed: readonly string[]): void {
  if (!path.isAbsolute(p)) throw fail(field, 'must be an absolute path');
  if (allowed.length && !allowed.some((dir) => (path.resolve(p) + path.sep).startsWith(path.resolve(dir) + path.sep))) {
    throw fail(field, `must be under one of the directories allowed by nodes.sourcePaths (${allowed.join(', ')})`);
  }
}

/**
 * Validates a PUT body's list. `allowedDirs` (config `nodes.sourcePaths`)
 * confines file and script sources; empty allows any absolute path.
 */
export function readSourceSpecs(v: unknown, allowedDirs: readonly string[] = []): SourceSpec[] {
  if (!Array.isArray(v)) throw fail('sources', 'must be a list of sources');
  if (v.length > 100) throw fail('sources', 'at most 100 sources');
  return v.map((raw, i): SourceSpec => {
    const field = `sources[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw fail(field, 'must be a mapping with a type');
    const r = raw as Raw;
    const known: Record<string, string[]> = {
      file: ['type', 'file', 'format', 'requireFileExists'],
      script: ['type', 'file', 'interpreter', 'args', 'format', 'timeout'],
      url: ['type', 'url', 'format', 'timeout', 'cache'],
    };
    const type = r.type;
    if (typeof type !== 'string' || !(type in known)) throw fail(`${field}.type`, `must be one of ${SOURCE_TYPES.join(', ')}`);
    for (const k of Object.keys(r)) if (!known[type]!.includes(k)) throw fail(`${field}.${k}`, `unknown field for a ${type} source`);
    switch (type) {
      case 'file': {
        const file = str(r, 'file', field, true)!;
        checkPath(file, `${field}.file`, allowedDirs);
        const fmt = format(r, field, false) ?? formatFromExtension(file);
        if (!fmt) throw fail(`${field}.format`, 'required when the file name does not end in .yaml, .yml, .json or .xml');
        return { type, file, format: fmt, requireFileExists: bool(r, 'requireFileExists', field, false) };
      }
      case 'script': {
        const file = str(r, 'file', field, true)!;
        checkPath(file, `${field}.file`, allowedDirs);
        const s: SourceSpec = { type, file, format: format(r, field, true)!, timeout: num(r, 'timeout', field, 30, 3600) };
        const interpreter = str(r, 'interpreter', field, false);
        if (interpreter) s.interpreter = interpreter;
        const args = str(r, 'args', field, false);
        if (args) s.args = args;
        return s;
      }
      default: {
        const url = str(r, 'url', field, true)!;
        let u: URL;
        try {
          u = new URL(url);
        } catch {
          throw fail(`${field}.url`, `"${url}" is not a URL`);
        }
        if (!['http:', 'https:', 'file:'].includes(u.protocol)) throw fail(`${field}.url`, 'must be an http, https or file URL');
        if (u.protocol === 'file:') checkPath(fileURLToPath(u), `${field}.url`, allowedDirs);
        const s: SourceSpec = { type: 'url', url, timeout: num(r, 'timeout', field, 30, 3600), cache: bool(r, 'cache', field, true) };
        const fmt = format(r, field, false);
        if (fmt) s.format = fmt;
        return s;
      }
    }
  });
}

export interface ReadContext {
  project: string;
  /** Runs script sources (the server's local executor). */
  executor: Executor;
  /** Where a script's stderr goes (Rundeck passes it through to its log). */
  stderr(line: string): void;
  /** The url source's validators from its last good read. */
  cache?: UrlCache;
}

export async function readSource(spec: SourceSpec, ctx: ReadContext): Promise<SourceRead> {
  switch (spec.type) {
    case 'file':
      return { kind: 'nodes', nodes: await readFileSource(spec) };
    case 'script':
      return { kind: 'nodes', nodes: await readScriptSource(spec, ctx) };
    case 'url':
      return readUrlSource(spec, ctx);
  }
}

async function readFileSource(spec: Extract<SourceSpec, { type: 'file' }>): Promise<NodeEntry[]> {
  let text: string;
  try {
    text = await readFile(spec.file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !spec.requireFileExists) return [];
    throw new Error(`cannot read ${spec.file}: ${errorMessage(e)}`);
  }
  return parseResources(text, spec.format ?? formatFromExtension(spec.file)!);
}

async function readScriptSource(spec: Extract<SourceSpec, { type: 'script' }>, ctx: ReadContext): Promise<NodeEntry[]> {
  const words = [...(spec.interpreter ?? '').split(' '), spec.file, ...(spec.args ?? '').split(' ')].filter((w) => w !== '');
  const proc = await ctx.executor.start({
    kind: 'shell',
    node: 'localhost',
    command: `exec ${words.map(shellQuote).join(' ')}`,
    env: { RD_CONTEXT_PROJECT: ctx.project, RD_RUNDECK_PROJECT: ctx.project },
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.kill();
  }, spec.timeout * 1000);
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  proc.stdout.on('data', (b: Buffer) => {
    size += b.length;
    if (size > MAX_OUTPUT) {
      if (!tooBig) proc.kill();
      tooBig = true;
      return;
    }
    chunks.push(b);
  });
  let errText = '';
  proc.stderr.on('data', (b: Buffer) => {
    errText += b.toString('utf8');
    let nl: number;
    while ((nl = errText.indexOf('\n')) >= 0) {
      ctx.stderr(errText.slice(0, nl));
      errText = errText.slice(nl + 1);
    }
  });
  const exit = await proc.exited.finally(() => clearTimeout(timer));
  if (errText) ctx.stderr(errText);
  if (timedOut) throw new Error(`Script execution timed out after ${spec.timeout} s`);
  if (tooBig) throw new Error(`Script output was larger than ${MAX_OUTPUT / 1024 / 1024} MB`);
  if (exit.exitCode !== 0) throw new Error(`Script execution failed with result: ${exit.exitCode ?? exit.signal}`);
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new Error('Script output was empty');
  return parseResources(text, spec.format);
}

async function readUrlSource(spec: Extract<SourceSpec, { type: 'url' }>, ctx: ReadContext): Promise<SourceRead> {
  const u = new URL(spec.url);
  if (u.protocol === 'file:') {
    const file = fileURLToPath(u);
    const fmt = spec.format ?? formatFromExtension(file);
    if (!fmt) throw new Error(`cannot tell the format of ${file}: give "format"`);
    return { kind: 'nodes', nodes: parseResources(await readFile(file, 'utf8'), fmt) };
  }
  const headers: Record<string, string> = { accept: 'application/yaml, text/yaml, application/json, text/xml, application/xml;q=0.9' };
  if (spec.cache && ctx.cache?.etag) headers['if-none-match'] = ctx.cache.etag;
  if (spec.cache && ctx.cache?.lastModified) headers['if-modified-since'] = ctx.cache.lastModified;
  let res: Response;
  try {
    res = await fetch(spec.url, { headers, signal: AbortSignal.timeout(spec.timeout * 1000), redirect: 'follow' });
  } catch (e) {
    const name = (e as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') throw new Error(`no answer from ${u.origin} within ${spec.timeout} s`);
    throw new Error(`cannot fetch ${u.origin}${u.pathname}: ${errorMessage((e as { cause?: unknown }).cause ?? e)}`);
  }
  if (res.status === 304 && spec.cache && (ctx.cache?.etag || ctx.cache?.lastModified)) {
    await res.body?.cancel();
    return { kind: 'unchanged' };
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new Error(`${u.origin}${u.pathname} answered HTTP ${res.status}`);
  }
  const fmt = spec.format ?? formatFromMime(res.headers.get('content-type'));
  if (!fmt) {
    await res.body?.cancel();
    throw new Error(`${u.origin}${u.pathname} answered Content-Type "${res.headers.get('content-type') ?? ''}": not a resource format (give "format")`);
  }
  const len = Number(res.headers.get('content-length') ?? '0');
  if (len > MAX_OUTPUT) {
    await res.body?.cancel();
    throw new Error(`${u.origin}${u.pathname} answered ${len} bytes, more than ${MAX_OUTPUT} allowed`);
  }
  const text = await res.text();
  const cache: UrlCache = {};
  const etag = res.headers.get('etag');
  const lastModified = res.headers.get('last-modified');
  if (etag) cache.etag = etag;
  if (lastModified) cache.lastModified = lastModified;
  return { kind: 'nodes', nodes: parseResources(text, fmt), cache };
}
