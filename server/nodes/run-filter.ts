/** A run request's node filter (Rundeck's `filter` of POST /job/ID/run). */
import { TandemError } from '../errors.js';
import type { JobDefinition } from '../jobs/definition.js';
import { checkFilter } from './job-nodes.js';

/**
 * The definition an execution runs: the job's own, or with the request's
 * `filter` when one is given and the job has `nodeFilterEditable: true`
 * (403 otherwise; 400 for a filter that does not parse). The execution's
 * definition snapshot records the filter it ran with.
 */
export function definitionWithFilter(def: JobDefinition, filter: unknown): JobDefinition {
  if (filter === undefined || filter === null) return def;
  if (typeof filter !== 'string') throw new TandemError('validation_failed', 'filter must be a string', { field: 'filter' });
  if (def.extra.nodeFilterEditable !== true && def.extra.nodeFilterEditable !== 'true') {
    throw new TandemError('forbidden', 'this job does not allow another node filter at run time (nodeFilterEditable is not true)', { field: 'filter' });
  }
  if (filter.trim() === '') throw new TandemError('validation_failed', 'filter must not be empty', { field: 'filter' });
  checkFilter(filter, 'filter');
  return { ...def, nodeFilter: filter };
}
