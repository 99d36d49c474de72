/**
 * Time zone arithmetic on top of Intl (no extra dependency): validating IANA
 * zone names and converting between instants and wall-clock dates in a zone.
 */
import { TandemError } from '../errors.js';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is an IANA zone name this Node knows (e.g. `Europe/Berlin`, `UTC`). */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone.trim() === '' || timeZone !== timeZone.trim()) return false;
  try {
    formatter(timeZone);
    return true;
  } catch {
    // RangeError: Invalid time zone specified — the answer is "no".
    return false;
  }
}

/** Throws `invalid_cron` naming `field` unless `timeZone` is a known zone. */
export function assertTimeZone(timeZone: string, field: string): void {
  if (!isValidTimeZone(timeZone)) {
    throw new TandemError('invalid_cron', `${field}: unknown time zone "${timeZone}" (use an IANA name such as Europe/Berlin or UTC)`, {
      field,
    });
  }
}

export interface WallClock {
  year: number;
  /** 1..12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday .. 6 = Saturday */
  weekday: number;
}

/** The wall-clock date and time of `instant` in `timeZone`. */
export function wallClock(instant: Date, timeZone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(instant)) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  const year = parts.year!;
  const month = parts.month!;
  const day = parts.day!;
  return {
    year,
    month,
    day,
    hour: parts.hour!,
    minute: parts.minute!,
    second: parts.second!,
    weekday: new Date(Date.UTC(year, month - 1, day)).getUTCDay(),
  };
}

/** Offset of `timeZone` from UTC at `instant`, in milliseconds (Berlin in summer: +7,200,000). */
function offsetMs(instant: number, timeZone: string): number {
  const w = wallClock(new Date(instant), timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}

/**
 * The first instant of the given date (month 1..12; day may overflow into the
 * next month) on the wall clock of `timeZone`: 00:00, or when midnight falls in
 * a DST gap (America/Santiago in September), the first instant after the gap.
 */
export function startOfDay(year: number, month: number, day: number, timeZone: string): Date {
  const local = Date.UTC(year, month - 1, day);
  const target = new Date(local);
  // The zone's offsets a day before and a day after: one of them is in force at the start of the day.
  const candidates = [offsetMs(local - 86_400_000, timeZone), offsetMs(local + 86_400_000, timeZone)]
    .map((offset) => local - offset)
    .sort((a, b) => a - b);
  for (const t of candidates) {
    const w = wallClock(new Date(t), timeZone);
    if (w.year === target.getUTCFullYear() && w.month === target.getUTCMonth() + 1 && w.day === target.getUTCDate()) return new Date(t);
  }
  // Neither offset lands on the date (a zone that skipped a whole day, like Pacific/Apia in 2011).
  return new Date(candidates[candidates.length - 1]!);
}

/** Days in a month (month 1..12). */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Longest length of each month, January first (February: 29). */
export const MAX_DAYS: readonly number[] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
