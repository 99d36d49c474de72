/**
 * Cron schedules of jobs: Rundeck's Quartz `crontab` (7 fields), Rundeck's
 * structured `time`/`weekday`/`month` form and plain 5-field cron, each in a
 * named time zone.
 *
 * Evaluation is delegated to cron-parser (time zones, DST); see plan.ts for
 * the parts Tandem adds. DST behaviour, as cron-parser implements it: a wall
 * time skipped by spring-forward (02:30 in Europe/Berlin on the last Sunday of
 * March) fires once at the corresponding later time (03:30); a wall time that
 * occurs twice at fall-back fires once, at its first occurrence; schedules
 * finer than an hour keep firing at their interval in absolute time.
 */
import { errorMessage, TandemError } from '../errors.js';
import { planCron5 } from './cron5.js';
import { FieldError } from './field-list.js';
import { planIterator, type CronPlan, type NextFire } from './plan.js';
import { planQuartzFields, QuartzFieldError, quartzFields } from './quartz.js';
import { assertTimeZone } from './zone.js';

export type ScheduleSpec =
  /** Rundeck `schedule.crontab`: sec min hour dom month dow [year], with ? L W # and names; day-of-week 1=SUN..7=SAT. */
  | { kind: 'quartz'; crontab: string; timeZone?: string }
  /** Rundeck's structured schedule form; equivalent to a Quartz expression. */
  | {
      kind: 'structured';
      time: { seconds?: string; minute: string; hour: string };
      month: string;
      weekday?: { day: string };
      dayofmonth?: { day: string };
      year?: string;
      timeZone?: string;
    }
  /** Plain 5-field cron: min hour dom month dow (0 or 7 = SUN). */
  | { kind: 'cron5'; expression: string; timeZone?: string };

export interface CompiledSchedule {
  spec: ScheduleSpec;
  /** The IANA zone the schedule fires in (the spec's, or UTC). */
  timeZone: string;
  describe(): string;
  /** First fire time strictly after `after`, or null when the schedule never fires again. */
  next(after: Date): Date | null;
}

/** Schedules without a `timeZone` fire in UTC, so that every site computes the same instants. */
export const DEFAULT_TIME_ZONE = 'UTC';

/** Field paths used in error messages, relative to what the caller is validating. */
interface Paths {
  /** Where a crontab string came from (`jobs[0].schedule.crontab`). */
  crontab: string;
  /** The schedule mapping itself (`jobs[0].schedule`), for structured sub-fields. */
  schedule: string;
  timeZone: string;
}

const STRUCTURED_PATHS = ['time.seconds', 'time.minute', 'time.hour', 'dayofmonth.day', 'month', 'weekday.day', 'year'];

function invalid(field: string, message: string): TandemError {
  return new TandemError('invalid_cron', `${field}: ${message}`, { field });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The Quartz fields of a structured schedule, as Rundeck builds its crontab from them. */
export function structuredFields(spec: Extract<ScheduleSpec, { kind: 'structured' }>): string[] {
  const dom = spec.dayofmonth?.day ?? '?';
  const dow = spec.weekday?.day ?? (spec.dayofmonth ? '?' : '*');
  return [spec.time.seconds ?? '0', spec.time.minute, spec.time.hour, dom, spec.month, dow, spec.year ?? '*'];
}

function plan(spec: ScheduleSpec, paths: Paths): CronPlan {
  switch (spec.kind) {
    case 'quartz':
      try {
        return planQuartzFields(quartzFields(spec.crontab));
      } catch (e) {
        if (e instanceof QuartzFieldError) throw invalid(paths.crontab, `${e.message} in "${spec.crontab}"`);
        throw e;
      }
    case 'structured': {
      const fields = structuredFields(spec);
      fields.forEach((f, i) => {
        if (f.trim() === '' || /\s/.test(f)) throw invalid(`${paths.schedule}.${STRUCTURED_PATHS[i]}`, `"${f}" must be one cron field without spaces`);
      });
      try {
        return planQuartzFields(fields);
      } catch (e) {
        if (e instanceof QuartzFieldError) throw invalid(`${paths.schedule}.${STRUCTURED_PATHS[Math.max(e.index, 0)]}`, e.message);
        throw e;
      }
    }
    case 'cron5':
      try {
        return planCron5(spec.expression);
      } catch (e) {
        if (e instanceof FieldError) throw invalid(paths.crontab, `${e.message} in "${spec.expression}"`);
        throw e;
      }
  }
}

function text(spec: ScheduleSpec): string {
  switch (spec.kind) {
    case 'quartz':
      return `Quartz cron "${spec.crontab}"`;
    case 'structured':
      return `Quartz cron "${structuredFields(spec).join(' ')}" (structured form)`;
    case 'cron5':
      return `cron "${spec.expression}"`;
  }
}

function compileAt(spec: ScheduleSpec, paths: Paths): CompiledSchedule {
  const timeZone = spec.timeZone ?? DEFAULT_TIME_ZONE;
  assertTimeZone(timeZone, paths.timeZone);
  const cronPlan = plan(spec, paths);
  let next: NextFire;
  try {
    next = planIterator(cronPlan, timeZone);
  } catch (e) {
    // cron-parser refuses dates that cannot exist, e.g. 30 in February only.
    const where = spec.kind === 'structured' ? `${paths.schedule}.dayofmonth.day` : paths.crontab;
    throw invalid(where, `${text(spec).replace(/^\w+ cron /, '')} never fires: ${errorMessage(e)}`);
  }
  const described = `${text(spec)} in ${timeZone}`;
  return { spec, timeZone, describe: () => described, next };
}

/** Validates a schedule (expression and time zone); errors name fields relative to `schedule`. */
export function compileSchedule(spec: ScheduleSpec): CompiledSchedule {
  const expression = spec.kind === 'cron5' ? 'schedule.expression' : 'schedule.crontab';
  return compileAt(spec, { crontab: expression, schedule: 'schedule', timeZone: 'timeZone' });
}

/** `jobs[0].schedule` → `jobs[0].timeZone`: Rundeck keeps `timeZone` beside `schedule`. */
function sibling(field: string, name: string): string {
  const dot = field.lastIndexOf('.');
  return dot < 0 ? name : `${field.slice(0, dot)}.${name}`;
}

function scalarText(v: unknown, field: string): string {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  throw new TandemError('validation_failed', `${field}: must be a string`, { field });
}

function checkKeys(raw: Record<string, unknown>, allowed: string[], field: string): void {
  for (const k of Object.keys(raw)) {
    if (!allowed.includes(k)) {
      throw new TandemError('validation_failed', `${field}.${k}: unknown schedule field (expected ${allowed.join(', ')})`, { field: `${field}.${k}` });
    }
  }
}

function fromCrontab(crontab: string, timeZone: string | undefined): ScheduleSpec {
  const count = crontab.trim().split(/\s+/).length;
  const spec: ScheduleSpec = count === 5 ? { kind: 'cron5', expression: crontab.trim() } : { kind: 'quartz', crontab: crontab.trim() };
  if (timeZone !== undefined) spec.timeZone = timeZone;
  return spec;
}

function dayMapping(raw: unknown, field: string): { day: string } {
  if (!isRecord(raw)) throw new TandemError('validation_failed', `${field}: must be a mapping with "day"`, { field });
  checkKeys(raw, ['day'], field);
  return { day: scalarText(raw.day ?? '*', `${field}.day`) };
}

/**
 * A schedule from Rundeck's job YAML: `schedule: {crontab: '0 0 12 ? * MON-FRI *'}`
 * (5 fields = plain cron), the structured `{time: {hour, minute, seconds}, month,
 * weekday: {day} | dayofmonth: {day}, year}`, or a bare crontab string. `timeZone`
 * is the job's `timeZone`. Validated completely; errors name `field` and below.
 */
export function parseScheduleSpec(raw: unknown, timeZone?: string, field = 'schedule'): ScheduleSpec {
  const paths: Paths = { crontab: field, schedule: field, timeZone: sibling(field, 'timeZone') };
  if (timeZone !== undefined && typeof timeZone !== 'string') {
    throw new TandemError('validation_failed', `${paths.timeZone}: must be a string`, { field: paths.timeZone });
  }
  let spec: ScheduleSpec;
  if (typeof raw === 'string') {
    spec = fromCrontab(raw, timeZone);
  } else if (isRecord(raw) && 'crontab' in raw) {
    checkKeys(raw, ['crontab'], field);
    paths.crontab = `${field}.crontab`;
    if (typeof raw.crontab !== 'string') throw invalid(paths.crontab, 'must be a string such as "0 0 12 ? * MON-FRI *"');
    spec = fromCrontab(raw.crontab, timeZone);
  } else if (isRecord(raw) && 'time' in raw) {
    checkKeys(raw, ['time', 'month', 'weekday', 'dayofmonth', 'year'], field);
    const time = raw.time;
    if (!isRecord(time)) throw new TandemError('validation_failed', `${field}.time: must be a mapping with hour and minute`, { field: `${field}.time` });
    checkKeys(time, ['seconds', 'minute', 'hour'], `${field}.time`);
    const structured: Extract<ScheduleSpec, { kind: 'structured' }> = {
      kind: 'structured',
      time: { minute: scalarText(time.minute ?? '0', `${field}.time.minute`), hour: scalarText(time.hour ?? '0', `${field}.time.hour`) },
      month: scalarText(raw.month ?? '*', `${field}.month`),
    };
    if (time.seconds !== undefined) structured.time.seconds = scalarText(time.seconds, `${field}.time.seconds`);
    if (raw.weekday !== undefined) structured.weekday = dayMapping(raw.weekday, `${field}.weekday`);
    if (raw.dayofmonth !== undefined) structured.dayofmonth = dayMapping(raw.dayofmonth, `${field}.dayofmonth`);
    if (raw.year !== undefined) structured.year = scalarText(raw.year, `${field}.year`);
    if (timeZone !== undefined) structured.timeZone = timeZone;
    spec = structured;
  } else {
    throw new TandemError('validation_failed', `${field}: must have "crontab" (e.g. "0 0 12 ? * MON-FRI *") or "time"/"month"/"weekday"`, { field });
  }
  if (spec.kind !== 'structured' && (spec.kind === 'quartz' ? spec.crontab : spec.expression) === '') {
    throw invalid(paths.crontab, 'empty');
  }
  compileAt(spec, paths);
  return spec;
}

/** Fire times in (from, to], at most `max` (default 1000) of them. */
export function fireTimesBetween(s: CompiledSchedule, from: Date, to: Date, max = 1000): Date[] {
  const out: Date[] = [];
  let cursor = from;
  while (out.length < max) {
    const next = s.next(cursor);
    if (!next || next.getTime() > to.getTime()) break;
    out.push(next);
    cursor = next;
  }
  return out;
}
