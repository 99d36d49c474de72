/**
 * Cross-check of the Quartz translation against a brute-force reference:
 * random expressions (fixed seed) are evaluated by Tandem and by walking every
 * minute of a window in UTC and testing each field directly, from the
 * structure the expression was generated from (not from its text).
 */
import t from 'tap';
import { compileSchedule } from '../../server/schedule/cron.js';

/** Deterministic PRNG (mulberry32), so a failure can be reproduced. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface Field {
  text: string;
  allows: (v: number) => boolean;
}

/** A random list field over [min, max]: *, n, a-b, a/s, *\/s, a-b/s, or two of them. */
function listField(r: () => number, min: number, max: number, names?: string[]): Field {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const name = (v: number) => (names && r() < 0.5 ? names[v - min]! : String(v));
  const item = (): Field => {
    const kind = int(0, 5);
    const a = int(min, max);
    const b = int(a, max);
    const s = int(1, Math.max(1, Math.floor((max - min) / 2)));
    switch (kind) {
      case 0:
        return { text: '*', allows: () => true };
      case 1:
        return { text: name(a), allows: (v) => v === a };
      case 2:
        return { text: `${name(a)}-${name(b)}`, allows: (v) => v >= a && v <= b };
      case 3:
        return { text: `${a}/${s}`, allows: (v) => v >= a && (v - a) % s === 0 };
      case 4:
        return { text: `*/${s}`, allows: (v) => (v - min) % s === 0 };
      default:
        return { text: `${a}-${b}/${s}`, allows: (v) => v >= a && v <= b && (v - a) % s === 0 };
    }
  };
  if (r() < 0.7) return item();
  const x = item();
  const y = item();
  return { text: `${x.text},${y.text}`, allows: (v) => x.allows(v) || y.allows(v) };
}

const lastDay = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
const weekday = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).getUTCDay();

/** Quartz's nW: the weekday nearest to day n, without leaving the month; no firing if the month is shorter than n. */
function nearestWeekday(y: number, m: number, target: number): number | null {
  const last = lastDay(y, m);
  if (target > last) return null;
  switch (weekday(y, m, target)) {
    case 6:
      return target === 1 ? 3 : target - 1;
    case 0:
      return target === last ? target - 2 : target + 1;
    default:
      return target;
  }
}

type DayRule = { text: [string, string]; allows: (y: number, m: number, d: number) => boolean };

function dayRule(r: () => number): DayRule {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const kind = int(0, 7);
  switch (kind) {
    case 0: {
      const f = listField(r, 1, 31);
      return { text: [f.text, '?'], allows: (_y, _m, d) => f.allows(d) };
    }
    case 1: {
      const f = listField(r, 1, 7, DAY_NAMES);
      return { text: ['?', f.text], allows: (y, m, d) => f.allows(weekday(y, m, d) + 1) };
    }
    case 2:
      return { text: ['L', '?'], allows: (y, m, d) => d === lastDay(y, m) };
    case 3: {
      const n = int(0, 10);
      return { text: [`L-${n}`, '?'], allows: (y, m, d) => d === lastDay(y, m) - n };
    }
    case 4: {
      const n = int(1, 28);
      return { text: [`${n}W`, '?'], allows: (y, m, d) => d === nearestWeekday(y, m, n) };
    }
    case 5:
      return { text: ['LW', '?'], allows: (y, m, d) => d === nearestWeekday(y, m, lastDay(y, m)) };
    case 6: {
      const q = int(1, 7);
      return { text: ['?', `${r() < 0.5 ? DAY_NAMES[q - 1] : q}L`], allows: (y, m, d) => weekday(y, m, d) === q - 1 && d + 7 > lastDay(y, m) };
    }
    default: {
      const q = int(1, 7);
      const k = int(1, 4);
      return { text: ['?', `${q}#${k}`], allows: (y, m, d) => weekday(y, m, d) === q - 1 && Math.ceil(d / 7) === k };
    }
  }
}

t.test('random Quartz expressions agree with a brute-force reference (UTC)', async (t) => {
  const r = rng(20261125);
  const from = Date.UTC(2026, 0, 1);
  const windowMinutes = 3 * 366 * 24 * 60;
  let compared = 0;
  for (let i = 0; i < 60; i++) {
    const second = Math.floor(r() * 60);
    const minute = listField(r, 0, 59);
    const hour = listField(r, 0, 23);
    const month = listField(r, 1, 12, MONTH_NAMES);
    const days = dayRule(r);
    const yearFrom = 2026 + Math.floor(r() * 2);
    const withYear = r() < 0.3;
    const text = [String(second), minute.text, hour.text, days.text[0], month.text, days.text[1], ...(withYear ? [`${yearFrom}-2030`] : [])].join(' ');

    const expected: number[] = [];
    for (let day = 0; day * 1440 < windowMinutes && expected.length < 6; day++) {
      const date = new Date(from + day * 86_400_000);
      const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
      if (withYear && y < yearFrom) continue;
      if (!month.allows(m) || !days.allows(y, m, d)) continue;
      for (let h = 0; h < 24 && expected.length < 6; h++) {
        if (!hour.allows(h)) continue;
        for (let mi = 0; mi < 60 && expected.length < 6; mi++) {
          if (minute.allows(mi)) expected.push(Date.UTC(y, m - 1, d, h, mi, second));
        }
      }
    }
    const s = compileSchedule({ kind: 'quartz', crontab: text, timeZone: 'UTC' });
    const actual: number[] = [];
    let cursor = new Date(from - 1);
    while (actual.length < expected.length) {
      const next = s.next(cursor);
      if (!next) break;
      actual.push(next.getTime());
      cursor = next;
    }
    t.same(actual.map((x) => new Date(x).toISOString()), expected.map((x) => new Date(x).toISOString()), text);
    compared += expected.length;
  }
  t.ok(compared > 100, `${compared} fire times compared`);
});

t.test('random 5-field cron expressions agree with a brute-force reference (UTC, Vixie day rule)', async (t) => {
  const r = rng(5);
  const from = Date.UTC(2026, 0, 1);
  let compared = 0;
  for (let i = 0; i < 40; i++) {
    const minute = listField(r, 0, 59);
    const hour = listField(r, 0, 23);
    const dom = listField(r, 1, 31);
    const month = listField(r, 1, 12, MONTH_NAMES);
    const dow = listField(r, 0, 6, DAY_NAMES);
    const text = [minute.text, hour.text, dom.text, month.text, dow.text].join(' ');
    const either = !dom.text.startsWith('*') && !dow.text.startsWith('*');
    const expected: number[] = [];
    for (let day = 0; day < 3 * 366 && expected.length < 6; day++) {
      const date = new Date(from + day * 86_400_000);
      const [y, m, d] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()];
      const domOk = dom.allows(d);
      const dowOk = dow.allows(weekday(y, m, d));
      if (!month.allows(m) || !(either ? domOk || dowOk : domOk && dowOk)) continue;
      for (let h = 0; h < 24 && expected.length < 6; h++) {
        if (!hour.allows(h)) continue;
        for (let mi = 0; mi < 60 && expected.length < 6; mi++) {
          if (minute.allows(mi)) expected.push(Date.UTC(y, m - 1, d, h, mi));
        }
      }
    }
    let s;
    try {
      s = compileSchedule({ kind: 'cron5', expression: text, timeZone: 'UTC' });
    } catch (e) {
      // Refused only when the reference finds nothing either (e.g. 31 in April only).
      t.same(expected, [], `${text} refused: ${(e as Error).message}`);
      continue;
    }
    const actual: number[] = [];
    let cursor = new Date(from - 1);
    while (actual.length < expected.length) {
      const next = s.next(cursor);
      if (!next) break;
      actual.push(next.getTime());
      cursor = next;
    }
    t.same(actual.map((x) => new Date(x).toISOString()), expected.map((x) => new Date(x).toISOString()), text);
    compared += expected.length;
  }
  t.ok(compared > 100, `${compared} fire times compared`);
});
