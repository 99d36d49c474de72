/**
 * The context data a step sees, under Rundeck's names: `node.*` (every
 * attribute of the node it runs on, plus Rundeck's `name`, `hostname`,
 * `os-family`, ... and `tags` as a comma string), `job.*` (name, group, id,
 * execid, project, username, loglevel, retryAttempt, wasRetry), `result.*`
 * in an error handler (reason, message, resultCode).
 *
 * How values reach a step without becoming shell syntax: each `${node.X}` /
 * `${job.X}` / `${result.X}` in a command line or script arguments turns into a
 * quoted reference to the environment variable `RD_NODE_X` / `RD_JOB_X` /
 * `RD_RESULT_X` (server/jobs/shell-references.ts, as for options), and those
 * variables are set in the step's environment, as Rundeck sets them for
 * scripts written for it (`RD_` + key upper-cased, other characters as `_`).
 * Inline script bodies get `@node.X@`, `@job.X@` and `@option.X@` tokens
 * replaced by the values, as Rundeck documents (the body is code by design).
 */
import type { NodeEntry } from './node-executor.js';

export type ContextData = Record<'node' | 'job' | 'result', Record<string, string>>;

/** Rundeck's environment variable name for a context key: `RD_NODE_OS_FAMILY`. */
export function rdEnvName(group: string, key: string): string {
  return `RD_${group.toUpperCase()}_${key.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/** A node's context: its attributes, Rundeck's standard keys and its tags. */
export function nodeContext(n: NodeEntry): Record<string, string> {
  const a = n.attributes;
  const out: Record<string, string> = { ...a };
  out.name = n.name;
  out.hostname = a.hostname ?? n.name;
  out.username = a.username ?? '';
  out.description = a.description ?? '';
  out.tags = n.tags.join(',');
  out['os-name'] = a.osName ?? '';
  out['os-family'] = a.osFamily ?? '';
  out['os-arch'] = a.osArch ?? '';
  out['os-version'] = a.osVersion ?? '';
  return out;
}

export interface JobContextInput {
  executionId: string;
  project: string;
  name: string;
  group: string;
  jobId: string | null;
  user: string | null;
  loglevel: string;
  attempt: number;
}

export function jobContext(j: JobContextInput): Record<string, string> {
  return {
    name: j.name,
    group: j.group,
    id: j.jobId ?? '',
    execid: j.executionId,
    project: j.project,
    username: j.user ?? '',
    loglevel: j.loglevel,
    retryAttempt: String(j.attempt - 1),
    wasRetry: String(j.attempt > 1),
  };
}

/** `RD_*` variables for every context value and option (`RD_OPTION_X`). */
export function rundeckEnv(data: Partial<ContextData>, options: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [group, values] of Object.entries(data)) {
    for (const [k, v] of Object.entries(values ?? {})) env[rdEnvName(group, k)] = v;
  }
  for (const [k, v] of Object.entries(options)) env[rdEnvName('option', k)] = v;
  return env;
}

const SCRIPT_TOKEN = /@(node|job|result)\.([A-Za-z0-9_][A-Za-z0-9_.-]*)@/g;

/** `@node.name@`, `@job.execid@`, `@result.message@` in a script body; unknown keys become empty, as in Rundeck. */
export function expandContextTokens(text: string, data: Partial<ContextData>): string {
  return text.replace(SCRIPT_TOKEN, (_w, group: keyof ContextData, key: string) => {
    const values = data[group];
    return values && Object.hasOwn(values, key) ? values[key]! : '';
  });
}
