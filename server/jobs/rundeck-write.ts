/**
 * JobDefinition → Rundeck's job export shape (one mapping per job, keys as
 * Rundeck writes them), with everything kept in `extra` maps merged back at
 * its original path. The inverse of rundeck-read.ts.
 */
import type { ScheduleSpec } from '../schedule/cron.js';
import type { JobDefinition, JobOption, Step } from './definition.js';
import { formatDuration } from './duration.js';
import { isRecord, NOTIFICATION_EVENTS, put } from './rundeck-read.js';

type Raw = Record<string, unknown>;

function record(v: unknown): Raw {
  return isRecord(v) ? { ...v } : {};
}

function writeOption(o: JobOption): Raw {
  const out: Raw = { ...o.extra, name: o.name };
  if (o.description !== undefined) out.description = o.description;
  // Rundeck writes these flags only when set.
  if (o.required) out.required = true;
  if (o.enforced) out.enforced = true;
  if (o.secure) out.secure = true;
  if (o.defaultValue !== undefined) out.value = o.defaultValue;
  if (o.values !== undefined) out.values = [...o.values];
  if (o.regex !== undefined) out.regex = o.regex;
  return out;
}

function writeStep(s: Step): Raw {
  const out: Raw = { ...s.extra };
  if (s.description !== undefined) out.description = s.description;
  switch (s.kind) {
    case 'exec':
      out.exec = s.exec;
      break;
    case 'script':
      out.script = s.script;
      if (s.args !== undefined) out.args = s.args;
      if (s.interpreter !== undefined) out.scriptInterpreter = s.interpreter;
      break;
    case 'jobref':
      out.jobref = { ...record(s.extra.jobref), ...s.ref };
      break;
  }
  return out;
}

function writeSchedule(spec: ScheduleSpec): Raw {
  switch (spec.kind) {
    case 'quartz':
      return { crontab: spec.crontab };
    case 'cron5':
      return { crontab: spec.expression };
    case 'structured': {
      const out: Raw = { time: { ...spec.time }, month: spec.month };
      if (spec.weekday) out.weekday = { ...spec.weekday };
      if (spec.dayofmonth) out.dayofmonth = { ...spec.dayofmonth };
      if (spec.year !== undefined) out.year = spec.year;
      return out;
    }
  }
}

export function writeJob(job: JobDefinition): Raw {
  const out: Raw = { ...job.extra };
  if (job.uuid !== undefined) out.uuid = job.uuid;
  out.name = job.name;
  if (job.group !== undefined) out.group = job.group;
  if (job.description !== undefined) out.description = job.description;
  out.executionEnabled = job.executionEnabled;
  out.scheduleEnabled = job.scheduleEnabled;
  out.multipleExecutions = job.multipleExecutions;
  out.loglevel = job.loglevel;
  if (job.options.length > 0) out.options = job.options.map(writeOption);
  out.sequence = {
    ...record(job.extra.sequence),
    keepgoing: job.sequence.keepgoing,
    strategy: job.sequence.strategy,
    commands: job.sequence.steps.map(writeStep),
  };
  if (job.nodeFilter !== undefined) out.nodefilters = { ...record(job.extra.nodefilters), filter: job.nodeFilter };
  if (job.schedule) {
    out.schedule = writeSchedule(job.schedule);
    if (job.schedule.timeZone !== undefined) out.timeZone = job.schedule.timeZone;
  }
  if (job.timeoutMs !== undefined) out.timeout = formatDuration(job.timeoutMs);
  if (job.retry.count > 0 || job.retry.delayMs > 0) {
    out.retry = job.retry.delayMs > 0 ? { retry: String(job.retry.count), delay: formatDuration(job.retry.delayMs) } : String(job.retry.count);
  }
  const notification = record(job.extra.notification);
  for (const event of NOTIFICATION_EVENTS) {
    const urls = job.notification[event];
    if (urls.length > 0) notification[event] = { ...record(notification[event]), urls: urls.join(',') };
  }
  for (const [event, spec] of Object.entries(job.email ?? {})) {
    const email: Record<string, unknown> = { recipients: spec.recipients.join(',') };
    if (spec.subject !== undefined) email.subject = spec.subject;
    if (spec.attachLog) email.attachLog = true;
    notification[event] = { ...record(notification[event]), email };
  }
  if (Object.keys(notification).length > 0) out.notification = notification;
  return out;
}

/** A copy with mapping keys in alphabetical order at every level, as Rundeck exports. */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isRecord(v)) return v;
  const out: Raw = {};
  for (const k of Object.keys(v).sort()) put(out, k, sortKeys(v[k]));
  return out;
}
