/** A Rundeck-API client for the contract tests: X-Rundeck-Auth-Token (or none), JSON by default. */
import type { TestServer } from '../server/helpers.js';

export interface RdAnswer {
  status: number;
  body: any;
  text: string;
  headers: Headers;
}

export type Rd = (method: string, path: string, opts?: { body?: unknown; type?: string; headers?: Record<string, string>; token?: string | null }) => Promise<RdAnswer>;

export function rundeckClient(ts: TestServer, version = 47): Rd {
  return async (method, path, opts = {}) => {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    const token = opts.token === undefined ? ts.token : opts.token;
    if (token) headers['x-rundeck-auth-token'] = token;
    let body: string | Buffer | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' || Buffer.isBuffer(opts.body) ? opts.body : JSON.stringify(opts.body);
      headers['content-type'] = opts.type ?? 'application/json';
    }
    const url = path.startsWith('/api/') || path.startsWith('/j_') ? ts.url + path : `${ts.url}/api/${version}${path}`;
    const res = await fetch(url, { method, headers, body, redirect: 'manual' });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, body: parsed, text, headers: res.headers };
  };
}
