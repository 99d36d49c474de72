/**
 * Tandem rows in Rundeck's JSON shapes, field for field (Rundeck API docs,
 * "Listing Jobs", "Execution Info", "Listing Running Executions", "Getting
 * Project Info"). Pure functions: no database, no request.
 */
import type { JobDefinition, JobOption } from '../jobs/definition.js';
import type { ExecutionRow, ExecutionStatus } from '../executions/sql/executions.js';
import type { JobRow } from '../jobs/sql/jobs.js';
import type { Project } from '../projects/sql/projects.js';
import type { StepResult } from '../executions/sql/step-results.js';
import { href, permalink, type Links } from './urls.js';

/** Rundeck's execution statuses (API docs, "Listing Running Executions"). */
export const RUNDECK_STATUSES = ['running', 'succeeded', 'failed', 'aborted', 'timedout', 'failed-with-retry', 'scheduled', 'other'] as const;
export type RundeckStatus = (typeof RUNDECK_STATUSES)[number];

/** What a secure option's value is shown as, in `argstring` and `job.options`. */
export const SECURE_MASK = '****';

/** `{unixtime, date}` with `date` as W3C `yyyy-MM-ddTHH:mm:ssZ` (no milliseconds, as Rundeck writes it). */
export function dateInfo(d: Date): { unixtime: number; date: string } {
  return { unixtime: d.getTime(), date: w3cDate(d) };
}

export function w3cDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function definitionOf(e: ExecutionRow): JobDefinition | null {
  const d = e.definition as JobDefinition | null;
  return d && typeof d === 'object' && Array.isArray(d.options) ? d : null;
}

/**
 * Tandem's state as Rundeck's status. `queued` has no Rundeck equivalent: a run
 * asked for a later time is `scheduled`, one waiting for a free slot is
 * `running` (a client following it keeps polling, which is right). A failed
 * attempt that the engine will retry is `failed-with-retry`.
 */
export function rundeckStatus(e: Pick<ExecutionRow, 'status' | 'scheduledTime' | 'attempt'> & { definition?: unknown }, now = new Date()): RundeckStatus {
  switch (e.status) {
    case 'queued':
      return e.scheduledTime && e.scheduledTime > now ? 'scheduled' : 'running';
    case 'failed':
    case 'timedout': {
      const retries = (e.definition as JobDefinition | null)?.retry?.count ?? 0;
      if (e.attempt <= retries) return 'failed-with-retry';
      return e.status;
    }
    default:
      return e.status;
  }
}

/** Rundeck's `statusFilter` values as Tandem states (for queries). */
export function tandemStatuses(s: string): ExecutionStatus[] | null {
  switch (s) {
    case 'running':
      return ['queued', 'running'];
    case 'succeeded':
    case 'failed':
    case 'aborted':
    case 'timedout':
      return [s];
    default:
      return null;
  }
}

function quoteArg(v: string): string {
  if (v === '') return '""';
  if (!/[\s"'\\]/.test(v)) return v;
  return `"${v.replace(/(["\\])/g, '\\$1')}"`;
}

function optionOrder(def: JobDefinition | null, values: Record<string, string>): string[] {
  const declared = def?.options.map((o) => o.name) ?? [];
  return [...declared.filter((n) => n in values), ...Object.keys(values).filter((n) => !declared.includes(n)).sort()];
}

/** Option values with secure options masked (the stored row already masks them; the mask is re-applied by declaration). */
export function maskedOptions(def: JobDefinition | null, values: Record<string, string>): Record<string, string> {
  const secure = new Set((def?.options ?? []).filter((o: JobOption) => o.secure).map((o) => o.name));
  const out: Record<string, string> = {};
  for (const name of optionOrder(def, values)) out[name] = secure.has(name) ? SECURE_MASK : values[name]!;
  return out;
}

/** `-opt1 value -opt2 "two words"`, in the job's option order, secure values masked. */
export function argString(def: JobDefinition | null, values: Record<string, string>): string {
  const masked = maskedOptions(def, values);
  return Object.entries(masked)
    .map(([k, v]) => `-${k} ${quoteArg(v)}`)
    .join(' ');
}

/** Rundeck's execution description: the first step, and "[... N steps]" when there are more. */
function describeSteps(def: JobDefinition | null, fallback: string): string {
  const steps = def?.sequence.steps ?? [];
  if (!steps.length) return fallback;
  const s = steps[0]!;
  const first =
    s.description ??
    (s.kind === 'exec' ? s.exec : s.kind === 'script' ? 'Script' : `Job ref: ${[s.ref.group, s.ref.name].filter(Boolean).join('/') || s.ref.uuid || ''}`);
  return steps.length > 1 ? `${first} [... ${steps.length} steps]` : first;
}

export function projectView(l: Links, p: Project, opts: { config?: boolean } = {}) {
  return {
    name: p.name,
    description: p.description,
    url: href.project(l, p.name),
    ...(opts.config ? { config: projectConfig(p) } : {}),
  };
}

/** Tandem projects have a name and a description; Rundeck shows them as these two properties. */
export function projectConfig(p: Project): Record<string, string> {
  return { 'project.name': p.name, 'project.description': p.description };
}

export function jobView(l: Links, j: JobRow, opts: { averageDuration?: number | null } = {}) {
  return {
    id: j.id,
    name: j.name,
    group: j.groupPath || null,
    project: j.project,
    description: j.description,
    href: href.job(l, j.id),
    permalink: permalink.job(l, j.id),
    scheduled: !!j.definition.schedule,
    scheduleEnabled: j.scheduleEnabled,
    enabled: j.executionEnabled,
    ...(opts.averageDuration != null ? { averageDuration: opts.averageDuration } : {}),
  };
}

function nodesBy(steps: StepResult[] | undefined): { successfulNodes?: string[]; failedNodes?: string[] } {
  if (!steps) return {};
  const failed = new Set(steps.filter((s) => s.status !== 'succeeded' && s.status !== 'running').map((s) => s.node));
  const succeeded = new Set(steps.filter((s) => s.status === 'succeeded' && !failed.has(s.node)).map((s) => s.node));
  return {
    ...(succeeded.size ? { successfulNodes: [...succeeded].sort() } : {}),
    ...(failed.size ? { failedNodes: [...failed].sort() } : {}),
  };
}

export function executionView(l: Links, e: ExecutionRow, steps?: StepResult[], now = new Date()) {
  const def = definitionOf(e);
  const started = e.startedAt ?? e.createdAt;
  const values = e.options ?? {};
  const hasOptions = Object.keys(values).length > 0;
  return {
    id: e.id,
    href: href.execution(l, e.id),
    permalink: permalink.execution(l, e.id),
    status: rundeckStatus(e, now),
    project: e.project,
    executionType: e.trigger === 'schedule' ? 'scheduled' : 'user',
    user: e.userName ?? '',
    'date-started': dateInfo(started),
    ...(e.endedAt ? { 'date-ended': dateInfo(e.endedAt) } : {}),
    job: {
      id: e.jobId,
      name: e.jobName,
      group: e.jobGroup || null,
      project: e.project,
      description: def?.description ?? '',
      ...(hasOptions ? { options: maskedOptions(def, values) } : {}),
      href: e.jobId ? href.job(l, e.jobId) : null,
      permalink: e.jobId ? permalink.job(l, e.jobId) : null,
    },
    description: describeSteps(def, e.jobName),
    argstring: hasOptions ? argString(def, values) : null,
    ...nodesBy(steps),
  };
}

export function pagedExecutions(l: Links, rows: ExecutionRow[], paging: { total: number; offset: number; max: number }) {
  const now = new Date();
  return {
    paging: { count: rows.length, total: paging.total, offset: paging.offset, max: paging.max },
    executions: rows.map((e) => executionView(l, e, undefined, now)),
  };
}
