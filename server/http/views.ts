/** The JSON representations the API returns. */
import { compileSchedule } from '../schedule/cron.js';
import type { ExecutionRow } from '../executions/sql/executions.js';
import type { JobRow } from '../jobs/sql/jobs.js';
import type { Project } from '../projects/sql/projects.js';
import type { StepResult } from '../executions/sql/step-results.js';
import { hideSecureDefaults } from '../jobs/secure-defaults.js';

export function projectView(p: Project) {
  return { name: p.name, description: p.description, createdBy: p.createdBy, createdAt: p.createdAt.toISOString(), href: `/api/v1/projects/${encodeURIComponent(p.name)}` };
}

/** `showSecrets`: include secure options' default values (only for callers allowed to update the job). */
/**
 * `showSecrets`: include secure options' default values (only for callers allowed to update the job).
 * `fireTimes`: how many next fire times to give in `schedule.nextFireTimes` (the list has 1 by default).
 */
export function jobView(j: JobRow, opts: { definition?: boolean; showSecrets?: boolean; fireTimes?: number } = {}) {
  const d = j.definition;
  let schedule: { description: string; timeZone: string; nextFireTime: string | null; nextFireTimes: string[] } | null = null;
  if (d.schedule) {
    try {
      const c = compileSchedule(d.schedule);
      const times: string[] = [];
      if (j.scheduleEnabled && j.executionEnabled) {
        let cursor: Date | null = new Date();
        while (times.length < (opts.fireTimes ?? 1) && (cursor = c.next(cursor))) times.push(cursor.toISOString());
      }
      schedule = { description: c.describe(), timeZone: c.timeZone, nextFireTime: times[0] ?? null, nextFireTimes: times };
    } catch {
      // A stored schedule always compiled when it was saved; a later library change must not break listing.
      schedule = null;
    }
  }
  return {
    id: j.id,
    project: j.project,
    name: j.name,
    group: j.groupPath || null,
    description: j.description,
    scheduled: !!d.schedule,
    scheduleEnabled: j.scheduleEnabled,
    executionEnabled: j.executionEnabled,
    multipleExecutions: j.multipleExecutions,
    schedule,
    version: j.version,
    createdAt: j.createdAt.toISOString(),
    updatedAt: j.updatedAt.toISOString(),
    href: `/api/v1/jobs/${encodeURIComponent(j.id)}`,
    ...(opts.definition ? { definition: opts.showSecrets ? d : hideSecureDefaults(d) } : {}),
  };
}

export function executionView(e: ExecutionRow, steps?: StepResult[]) {
  const end = e.endedAt ?? (e.startedAt ? new Date() : null);
  return {
    id: e.id,
    project: e.project,
    job: { id: e.jobId, name: e.jobName, group: e.jobGroup || null },
    status: e.status,
    statusReason: e.statusReason,
    options: e.options,
    trigger: e.trigger,
    user: e.userName,
    member: e.member,
    attempt: e.attempt,
    retryOf: e.retryOf,
    scheduledTime: e.scheduledTime?.toISOString() ?? null,
    createdAt: e.createdAt.toISOString(),
    startedAt: e.startedAt?.toISOString() ?? null,
    endedAt: e.endedAt?.toISOString() ?? null,
    durationMs: e.startedAt && end ? end.getTime() - e.startedAt.getTime() : null,
    abortRequested: e.abortRequestedAt ? { at: e.abortRequestedAt.toISOString(), by: e.abortRequestedBy } : null,
    log: e.logKey ? { key: e.logKey, size: Number(e.logSize), complete: !!e.logComplete } : null,
    href: `/api/v1/executions/${e.id}`,
    ...(steps
      ? {
          steps: steps.map((s) => ({
            step: s.step,
            node: s.node,
            status: s.status,
            exitCode: s.exitCode,
            message: s.message,
            startedAt: s.startedAt.toISOString(),
            endedAt: s.endedAt?.toISOString() ?? null,
          })),
        }
      : {}),
  };
}
