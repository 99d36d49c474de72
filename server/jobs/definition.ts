/**
 * A job definition as Tandem holds it in memory: the subset of Rundeck's job
 * model that Tandem executes, plus everything else from the imported document
 * kept verbatim in `extra` maps so that an export gives back what was imported.
 *
 * This module is pure (no database, no I/O). Parsing and export of Rundeck's
 * YAML/JSON shape live in `rundeck-format.ts`; option checking in `options.ts`.
 */
import type { ScheduleSpec } from '../schedule/cron.js';

export type { ScheduleSpec } from '../schedule/cron.js';

export interface JobOption {
  name: string;
  description?: string;
  required: boolean;
  /** Rundeck `value`: used when the caller gives no value. */
  defaultValue?: string;
  /** Allowed (or suggested, when not `enforced`) values. */
  values?: string[];
  /** When true, the value must be one of `values`. */
  enforced: boolean;
  /** A JavaScript regular expression source the whole value must match. */
  regex?: string;
  /** Secure options are masked in logs and never exported in output. */
  secure: boolean;
  /** Unknown keys of the option mapping (e.g. `valueExposed`, `delimiter`), kept verbatim. */
  extra: Record<string, unknown>;
}

/** A step; `extra` holds its unknown keys, and for a jobref the rest of the `jobref` mapping under `extra.jobref`. */
export type Step =
  | { kind: 'exec'; exec: string; description?: string; extra: Record<string, unknown> }
  | { kind: 'script'; script: string; args?: string; interpreter?: string; description?: string; extra: Record<string, unknown> }
  | {
      kind: 'jobref';
      ref: { uuid?: string; name?: string; group?: string; project?: string; args?: string };
      description?: string;
      extra: Record<string, unknown>;
    };

/** Events an e-mail notification may be sent on (Rundeck's; `onavgduration`: still running past the job's average duration). */
export const EMAIL_EVENTS = ['onstart', 'onsuccess', 'onfailure', 'onavgduration'] as const;
export type EmailEvent = (typeof EMAIL_EVENTS)[number];

/** Rundeck `notification.<event>.email`. */
export interface EmailNotification {
  recipients: string[];
  /** Subject template (`${job.name}`, `${job.status}`, `${execution.id}`...); absent: Rundeck's default. */
  subject?: string;
  /** Attach the execution's log (as text). */
  attachLog: boolean;
}

/** Webhook URLs called on each event. */
export interface Notification {
  onsuccess: string[];
  onfailure: string[];
  onstart: string[];
}

export interface JobDefinition {
  uuid?: string;
  name: string;
  group?: string;
  description?: string;
  options: JobOption[];
  sequence: { keepgoing: boolean; strategy: string; steps: Step[] };
  /** Rundeck `nodefilters.filter`. */
  nodeFilter?: string;
  /** Undefined = not scheduled. The job's `timeZone` is carried inside the spec. */
  schedule?: ScheduleSpec;
  scheduleEnabled: boolean;
  executionEnabled: boolean;
  /** Rundeck `timeout` ("1h30m", "90s", "300" seconds), in milliseconds. */
  timeoutMs?: number;
  /** Rundeck `retry: 3` or `retry: {retry: '3', delay: '30s'}`. */
  retry: { count: number; delayMs: number };
  multipleExecutions: boolean;
  loglevel: string;
  notification: Notification;
  /** E-mail notifications by event (absent in definitions stored before they existed: none). */
  email?: Partial<Record<EmailEvent, EmailNotification>>;
  /**
   * Unknown top-level fields (e.g. `plugins`, `defaultTab`), kept verbatim and
   * exported back; also the uninterpreted rest of `sequence`, `nodefilters`
   * and `notification` (e.g. `nodefilters.dispatch`, `notification.onfailure.email`)
   * under those keys, merged back into them on export, and `timeZone` when the
   * job has no schedule.
   */
  extra: Record<string, unknown>;
}
