/**
 * Plain 5-field cron (`min hour day-of-month month day-of-week`, 0 or 7 =
 * Sunday) with Vixie cron's day rule: when both day fields are restricted (neither
 * starts with `*`) a day matching either fires; otherwise both must match.
 */
import { expandField, FieldError, isFull, type FieldRange } from './field-list.js';
import type { CronPlan } from './plan.js';
import { DAY_OF_MONTH, HOURS, listText, MINUTES, MONTH } from './quartz.js';
import { MAX_DAYS } from './zone.js';

const CRON_DAY_OF_WEEK: FieldRange = {
  label: 'day-of-week',
  min: 0,
  max: 7,
  names: { SUN: 0, MON: 1, TUE: 2, WED: 3, THU: 4, FRI: 5, SAT: 6 },
};

function either(dom: string, dow: string): boolean {
  return !dom.startsWith('*') && !dow.startsWith('*');
}

export function planCron5(text: string): CronPlan {
  const fields = text.trim().split(/\s+/);
  if (fields.length !== 5 || fields[0] === '') {
    throw new FieldError(`expected 5 fields (minutes hours day-of-month month day-of-week), got ${fields[0] === '' ? 0 : fields.length}`);
  }
  const [min, hour, dom, month, dow] = fields as [string, string, string, string, string];
  const days = expandField(dom, DAY_OF_MONTH);
  // 7 is another name for Sunday.
  const weekdays = [...new Set(expandField(dow, CRON_DAY_OF_WEEK).map((d) => d % 7))].sort((a, b) => a - b);
  const months = expandField(month, MONTH);
  const time = ['0', listText(expandField(min, MINUTES), MINUTES), listText(expandField(hour, HOURS), HOURS)];
  const monthText = listText(months, MONTH);
  const allDays = isFull(days, DAY_OF_MONTH);
  const allWeekdays = weekdays.length === 7;
  const plan: CronPlan = { expression: [...time, '*', monthText, '*'].join(' ') };
  if (either(dom, dow)) {
    // Either day field may match: cron-parser's rule too, but it decides "restricted" by
    // value rather than by the leading `*`, so Tandem applies the rule itself.
    if (allDays || allWeekdays) return plan;
    const daySet = new Set(days);
    const weekdaySet = new Set(weekdays);
    plan.dayMatches = (w) => daySet.has(w.day) || weekdaySet.has(w.weekday);
    return plan;
  }
  // Both must match.
  if (!days.some((d) => months.some((m) => d <= MAX_DAYS[m - 1]!))) {
    throw new FieldError(`day-of-month: ${dom} never occurs in month ${month}`);
  }
  if (allDays) {
    plan.expression = [...time, '*', monthText, allWeekdays ? '*' : weekdays.join(',')].join(' ');
    return plan;
  }
  plan.expression = [...time, days.join(','), monthText, '*'].join(' ');
  if (!allWeekdays) {
    const weekdaySet = new Set(weekdays);
    plan.dayMatches = (w) => weekdaySet.has(w.weekday);
  }
  return plan;
}
