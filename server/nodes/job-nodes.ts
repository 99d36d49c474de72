/**
 * A job's node dispatch settings, from Rundeck's job document:
 * `nodefilters: {filter, filterExclude, dispatch: {threadcount, keepgoing,
 * excludePrecedence, rankAttribute, rankOrder, successOnEmptyNodeFilter}}`
 * and `nodeFilterEditable` beside it. The job reader keeps everything but
 * `filter` in `extra` (so an export gives it back as imported); this module
 * reads it, at import (errors name the field) and at run time.
 */
import { TandemError } from '../errors.js';
import type { JobDefinition } from '../jobs/definition.js';
import { parseNodeFilter } from './filter.js';

export interface NodeDispatch {
  filter: string;
  filterExclude: string;
  threadcount: number;
  /** Go on with the other nodes when one fails (the execution still fails). */
  keepgoing: boolean;
  excludePrecedence: boolean;
  /** Node attribute to order nodes by (default: the node name). */
  rankAttribute: string;
  rankOrder: 'ascending' | 'descending';
  successOnEmptyNodeFilter: boolean;
  /** `nodeFilterEditable`: a run request may give another filter. */
  editable: boolean;
}

type Raw = Record<string, unknown>;
const isRecord = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(field: string, message: string): TandemError {
  return new TandemError('validation_failed', `${field}: ${message}`, { field });
}

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined || v === null || v === '') return dflt;
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  throw fail(field, 'must be true or false');
}

function text(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw fail(field, 'must be a string');
}

/** Validates a filter; the error names the field, the token and the column. */
export function checkFilter(filter: string, field: string): void {
  try {
    parseNodeFilter(filter);
  } catch (e) {
    if (e instanceof TandemError) throw fail(field, e.message);
    throw e;
  }
}

/**
 * The settings of a job that runs on nodes, or null for a job without a
 * node filter (it runs on the server itself, as in Rundeck). `path` names
 * the job in errors (`jobs[0]`).
 */
export function readNodeDispatch(def: JobDefinition, path = 'job'): NodeDispatch | null {
  const nf = isRecord(def.extra.nodefilters) ? def.extra.nodefilters : {};
  const p = `${path}.nodefilters`;
  const filterExclude = text(nf.filterExclude, `${p}.filterExclude`) ?? '';
  const d = nf.dispatch === undefined || nf.dispatch === null ? {} : nf.dispatch;
  if (!isRecord(d)) throw fail(`${p}.dispatch`, 'must be a mapping');
  const tc = d.threadcount;
  let threadcount = 1;
  if (tc !== undefined && tc !== null && tc !== '') {
    const n = typeof tc === 'string' && /^\d+$/.test(tc.trim()) ? Number(tc) : tc;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1000) throw fail(`${p}.dispatch.threadcount`, 'must be a whole number from 1 to 1000');
    threadcount = n;
  }
  const rankOrder = text(d.rankOrder, `${p}.dispatch.rankOrder`) ?? 'ascending';
  if (rankOrder !== 'ascending' && rankOrder !== 'descending') throw fail(`${p}.dispatch.rankOrder`, 'must be ascending or descending');
  const filter = def.nodeFilter ?? '';
  if (filter.trim() !== '') checkFilter(filter, `${p}.filter`);
  if (filterExclude.trim() !== '') checkFilter(filterExclude, `${p}.filterExclude`);
  const settings: NodeDispatch = {
    filter,
    filterExclude,
    threadcount,
    keepgoing: bool(d.keepgoing, `${p}.dispatch.keepgoing`, false),
    excludePrecedence: bool(d.excludePrecedence, `${p}.dispatch.excludePrecedence`, true),
    rankAttribute: text(d.rankAttribute, `${p}.dispatch.rankAttribute`) || 'nodename',
    rankOrder,
    successOnEmptyNodeFilter: bool(d.successOnEmptyNodeFilter, `${p}.dispatch.successOnEmptyNodeFilter`, false),
    editable: bool(def.extra.nodeFilterEditable, `${path}.nodeFilterEditable`, false),
  };
  // A job without nodefilters (or with an empty filter and no exclude) runs on the server itself.
  if (filter.trim() === '' && filterExclude.trim() === '') return null;
  return settings;
}
