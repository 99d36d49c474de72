/** Query-string and path parameters, refused with 400 naming the parameter. */
import { TandemError } from '../errors.js';

export function intParam(raw: string | string[] | undefined, field: string, dflt: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return dflt;
  const s = Array.isArray(raw) ? raw[0]! : raw;
  if (!/^\d+$/.test(s)) throw new TandemError('bad_request', `${field} must be a whole number`, { field });
  const n = Number(s);
  if (n < min || n > max) throw new TandemError('bad_request', `${field} must be between ${min} and ${max}`, { field });
  return n;
}

export function enumParam<T extends string>(raw: string | string[] | undefined, field: string, values: readonly T[]): T | undefined {
  if (raw === undefined || raw === '') return undefined;
  const s = Array.isArray(raw) ? raw[0]! : raw;
  if (!(values as readonly string[]).includes(s)) throw new TandemError('bad_request', `${field} must be one of ${values.join(', ')}`, { field });
  return s as T;
}

/**
 * A free-text parameter (a search), at most `max` characters; undefined when
 * absent, or when empty unless `keepEmpty` ('' can mean something: no group).
 */
export function textParam(raw: string | string[] | undefined, field: string, max: number, keepEmpty = false): string | undefined {
  if (raw === undefined) return undefined;
  const s = Array.isArray(raw) ? raw[0]! : raw;
  if (s === '' && !keepEmpty) return undefined;
  if (s.length > max) throw new TandemError('bad_request', `${field} must be at most ${max} characters`, { field });
  return s;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Execution ids are UUIDs: anything else cannot exist (404, not a database error). */
export function isUuid(s: string): boolean {
  return UUID.test(s);
}

/**
 * `?limit=&offset=` of a list: `limit` defaults to server.pageLimit and may
 * not exceed server.maxPageLimit (400 beyond), so no list answer is larger
 * than a page however many items exist.
 */
export function pageParams(
  query: Record<string, string | string[] | undefined>,
  server: { pageLimit: number; maxPageLimit: number },
): { limit: number; offset: number } {
  const max = Math.max(server.maxPageLimit, 1);
  return {
    limit: intParam(query.limit, 'limit', Math.min(server.pageLimit, max), 1, max),
    offset: intParam(query.offset, 'offset', 0, 0, 10_000_000),
  };
}
