/**
 * The UI's only way to the server: the public JSON API (server/README.md), same
 * origin, with the session cookie. Changes carry the session's CSRF token in
 * `X-CSRF-Token` (from /api/v1/me). An answer of 401 means the session ended:
 * the browser goes to the login form and comes back to the same page after it.
 */

/** The API's error shape `{error:{code,message,field?}}`, as a thrown value. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

/** A body sent as is (a job file upload), instead of JSON. */
export interface RawBody {
  raw: string | Blob;
  type: string;
}

function isRaw(b: unknown): b is RawBody {
  return typeof b === 'object' && b !== null && 'raw' in b && 'type' in b;
}

function loginUrl(): string {
  return `/login?next=${encodeURIComponent(location.pathname + location.search + location.hash)}`;
}

export class Api {
  constructor(private readonly csrfToken: string | undefined) {}

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, undefined, signal);
  }

  send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    return this.request<T>(method, path, body);
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    let payload: string | Blob | undefined;
    if (method !== 'GET' && this.csrfToken) headers['x-csrf-token'] = this.csrfToken;
    if (isRaw(body)) {
      headers['content-type'] = body.type;
      payload = body.raw;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin', signal });
    if (res.status === 401) {
      location.assign(loginUrl());
      throw new ApiError(401, 'unauthorized', 'your session ended: log in again');
    }
    if (!res.ok) throw await toError(res);
    if (res.status === 204) return undefined as T;
    return (await res.json()) as T;
  }
}

async function toError(res: Response): Promise<ApiError> {
  const retry = Number(res.headers.get('retry-after'));
  try {
    const j = (await res.json()) as { error?: { code?: string; message?: string; field?: string } };
    if (j.error?.code) return new ApiError(res.status, j.error.code, j.error.message ?? res.statusText, j.error.field, retry || undefined);
  } catch {
    // not JSON (a proxy's error page): fall through to the status line
  }
  return new ApiError(res.status, 'http_' + res.status, `${res.status} ${res.statusText}`, undefined, retry || undefined);
}

/** `/api/v1/projects/a b` → `/api/v1/projects/a%20b`: every path segment a user chose goes through this. */
export function seg(s: string): string {
  return encodeURIComponent(s);
}
