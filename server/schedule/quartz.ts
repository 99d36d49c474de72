/**
 * Quartz cron expressions as Rundeck stores them in `schedule.crontab`:
 * `sec min hour day-of-month month day-of-week [year]`, day-of-week 1=SUN..7=SAT,
 * exactly one of the two day fields `?`, and the specials `L`, `L-n`, `W`,
 * `LW`, `nL`, `n#k`. Translated to a `CronPlan` for cron-parser.
 */
import { expandField, FieldError, isFull, type FieldRange } from './field-list.js';
import type { CronPlan } from './plan.js';
import { daysInMonth, MAX_DAYS, type WallClock } from './zone.js';

/** A problem in field `index` (0 = seconds .. 6 = year) of a Quartz expression. */
export class QuartzFieldError extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
  }
}

const MONTHS = { JAN: 1, FEB: 2, MAR: 3, APR: 4, MAY: 5, JUN: 6, JUL: 7, AUG: 8, SEP: 9, OCT: 10, NOV: 11, DEC: 12 };
const QUARTZ_DAYS = { SUN: 1, MON: 2, TUE: 3, WED: 4, THU: 5, FRI: 6, SAT: 7 };

export const SECONDS: FieldRange = { label: 'seconds', min: 0, max: 59 };
export const MINUTES: FieldRange = { label: 'minutes', min: 0, max: 59 };
export const HOURS: FieldRange = { label: 'hours', min: 0, max: 23 };
export const DAY_OF_MONTH: FieldRange = { label: 'day-of-month', min: 1, max: 31 };
export const MONTH: FieldRange = { label: 'month', min: 1, max: 12, names: MONTHS };
const QUARTZ_DAY_OF_WEEK: FieldRange = { label: 'day-of-week', min: 1, max: 7, names: QUARTZ_DAYS };
/** Quartz accepts years 1970..2099 (later versions: now + 100). */
const YEAR: FieldRange = { label: 'year', min: 1970, max: 2299 };

const FIELD_NAMES = ['seconds', 'minutes', 'hours', 'day-of-month', 'month', 'day-of-week', 'year'];

/** Runs `fn` for field `index`, turning a FieldError into a QuartzFieldError for that field. */
function inField<T>(index: number, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof FieldError) throw new QuartzFieldError(index, e.message);
    throw e;
  }
}

/** `*` when every value is allowed, else the explicit list. */
export function listText(values: number[], range: FieldRange): string {
  return isFull(values, range) ? '*' : values.join(',');
}

function quartzDayNumber(token: string): number {
  const upper = token.toUpperCase();
  if (upper in QUARTZ_DAYS) return QUARTZ_DAYS[upper as keyof typeof QUARTZ_DAYS];
  if (/^[1-7]$/.test(token)) return Number(token);
  throw new FieldError(`day-of-week: "${token}" is not 1-7 (1=SUN) or SUN-SAT`);
}

interface DayOfMonthPlan {
  cron: string;
  dayMatches?: (w: WallClock) => boolean;
}

function weekdayNearest(year: number, month: number, day: number): number {
  const last = daysInMonth(year, month);
  const dow = new Date(Date.UTC(year, month - 1, day)).getUTCDay();
  // Quartz never moves a W day into another month: 1W on a Saturday is Monday the 3rd.
  if (dow === 6) return day === 1 ? 3 : day - 1;
  if (dow === 0) return day === last ? day - 2 : day + 1;
  return day;
}

function planDayOfMonth(raw: string): DayOfMonthPlan {
  const upper = raw.toUpperCase();
  if (upper === 'L') return { cron: 'L' };
  if (upper === 'LW') {
    return {
      // Only the last three days of a month can be its last weekday; cron-parser skips the rest.
      cron: '26-31',
      dayMatches: (w) => w.day === weekdayNearest(w.year, w.month, daysInMonth(w.year, w.month)),
    };
  }
  let m = /^L-(\d+)$/.exec(upper);
  if (m) {
    const offset = Number(m[1]);
    if (offset > 30) throw new FieldError(`day-of-month: offset from last day must be at most 30 in "${raw}"`);
    const first = Math.max(1, 28 - offset);
    return { cron: `${first}-${Math.max(first, 31 - offset)}`, dayMatches: (w) => w.day === daysInMonth(w.year, w.month) - offset };
  }
  m = /^(\d+)W$/.exec(upper);
  if (m) {
    const target = Number(m[1]);
    if (target < 1 || target > 31) throw new FieldError(`day-of-month: ${target} is out of range 1-31 in "${raw}"`);
    return {
      // The nearest weekday is at most two days away.
      cron: `${Math.max(1, target - 2)}-${Math.min(31, target + 2)}`,
      // A month shorter than the target day has no firing, as in Quartz.
      dayMatches: (w) => target <= daysInMonth(w.year, w.month) && w.day === weekdayNearest(w.year, w.month, target),
    };
  }
  if (/[LW]/.test(upper)) {
    throw new FieldError(`day-of-month: "${raw}": L and W must stand alone (L, L-3, LW, 15W)`);
  }
  return { cron: listText(expandField(raw, DAY_OF_MONTH), DAY_OF_MONTH) };
}

function planDayOfWeek(raw: string): string {
  const upper = raw.toUpperCase();
  if (upper === 'L') return '6'; // alone, Quartz's L is the last day of the week: Saturday
  let m = /^(\w+)L$/.exec(upper);
  if (m) return `${quartzDayNumber(m[1]!) - 1}L`;
  m = /^(\w+)#(\d+)$/.exec(upper);
  if (m) {
    const nth = Number(m[2]);
    if (nth < 1 || nth > 5) throw new FieldError(`day-of-week: "${raw}": the week after # must be 1-5`);
    return `${quartzDayNumber(m[1]!) - 1}#${nth}`;
  }
  if (/[L#]/.test(upper)) throw new FieldError(`day-of-week: "${raw}": nL and n#k must stand alone`);
  const days = expandField(raw, QUARTZ_DAY_OF_WEEK);
  return days.length === 7 ? '*' : days.map((d) => d - 1).join(',');
}

/** Splits a Quartz expression into its 6 or 7 fields. */
export function quartzFields(text: string): string[] {
  const fields = text.trim().split(/\s+/);
  if (fields.length < 6 || fields.length > 7 || fields[0] === '') {
    throw new QuartzFieldError(
      -1,
      `expected 6 or 7 fields (seconds minutes hours day-of-month month day-of-week [year]), got ${fields[0] === '' ? 0 : fields.length}`,
    );
  }
  return fields;
}

/** Translates fields `[sec, min, hour, dom, month, dow, year?]` (Quartz syntax) to a plan. */
export function planQuartzFields(fields: string[]): CronPlan {
  const [sec, min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string, string | undefined];
  fields.forEach((f, i) => {
    if (f === '?' && i !== 3 && i !== 5) throw new QuartzFieldError(i, `${FIELD_NAMES[i]}: ? is only allowed in day-of-month or day-of-week`);
  });
  // Quartz needs `?` in one day field; `*` in one of them means the same thing, so accept it.
  const domOpen = dom === '?' || dom === '*';
  const dowOpen = dow === '?' || dow === '*';
  if (dom === '?' && dow === '?') throw new QuartzFieldError(3, 'day-of-month and day-of-week cannot both be ?');
  if (!domOpen && !dowOpen) {
    throw new QuartzFieldError(5, 'day-of-month and day-of-week cannot both be set: put ? in one of them (e.g. "0 0 12 ? * MON")');
  }
  const domPlan = domOpen ? { cron: '*' } : inField(3, () => planDayOfMonth(dom));
  const dowCron = dowOpen ? '*' : inField(5, () => planDayOfWeek(dow));
  const plan: CronPlan = {
    expression: [
      inField(0, () => listText(expandField(sec, SECONDS), SECONDS)),
      inField(1, () => listText(expandField(min, MINUTES), MINUTES)),
      inField(2, () => listText(expandField(hour, HOURS), HOURS)),
      domPlan.cron,
      inField(4, () => listText(expandField(month, MONTH), MONTH)),
      dowCron,
    ].join(' '),
  };
  if (domPlan.dayMatches) {
    // A W day beyond every selected month's length would never fire; refuse it like cron-parser refuses 30 February.
    const target = /^(\d+)W$/i.exec(dom);
    const fromLast = /^L-(\d+)$/i.exec(dom);
    const months = inField(4, () => expandField(month, MONTH));
    const possible = (m: number) => (target ? Number(target[1]) <= MAX_DAYS[m - 1]! : fromLast ? MAX_DAYS[m - 1]! - Number(fromLast[1]) >= 1 : true);
    if (!months.some(possible)) {
      throw new QuartzFieldError(3, `day-of-month: ${dom} never occurs in month ${month}`);
    }
    plan.dayMatches = domPlan.dayMatches;
  }
  if (year !== undefined && year !== '*') plan.years = inField(6, () => expandField(year, YEAR));
  return plan;
}
