/**
 * A schedule reduced to what cron-parser evaluates (a 6-field expression with
 * time zone and DST handling) plus the calendar rules it lacks, applied as
 * filters: Quartz `W`/`LW`/`L-n` days, Vixie cron's day-of-month/day-of-week
 * rule, and Quartz's year field.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { startOfDay, wallClock, type WallClock } from './zone.js';

export interface CronPlan {
  /** `sec min hour dom month dow` for cron-parser, day-of-week 0=SUN; explicit lists only. */
  expression: string;
  /** Extra day filter, evaluated on the fire time's wall-clock date in the schedule's zone. */
  dayMatches?: (date: WallClock) => boolean;
  /** Allowed years, ascending; undefined = every year. */
  years?: number[];
}

/** cron-parser's LOOPS_LIMIT_EXCEEDED_ERROR_MESSAGE (not exported by its index). */
const CRON_PARSER_GAVE_UP = 'Invalid expression, loop limit exceeded';

/** Upper bound on filter rejections per `next()`; a year of daily rejections is ~400. */
const MAX_SKIPS = 5000;

export type NextFire = (after: Date) => Date | null;

/** Builds the `next` function of a plan; throws cron-parser's error when the expression is impossible. */
export function planIterator(plan: CronPlan, timeZone: string): NextFire {
  // Parsed once (impossible expressions such as 30 February fail here, at
  // compile time) and re-positioned with reset(): `next` is synchronous, so
  // sharing the iterator between calls is safe.
  const expression: CronExpression = CronExpressionParser.parse(plan.expression, { currentDate: new Date(0), tz: timeZone, strict: false });

  // The last answer: no fire time lies in (from, fire), so for any `after` in
  // [from, fire) the answer is `fire` again. A scheduler asks the same
  // question every tick until the fire time passes; this answers it for free.
  let memo: { from: number; fire: number } | null = null;

  const compute = (after: Date): Date | null => {
    let cursor = after;
    for (let i = 0; i < MAX_SKIPS; i++) {
      if (plan.years && cursor.getTime() > Date.UTC(plan.years[plan.years.length - 1]! + 1, 0, 2)) return null;
      let fire: Date;
      try {
        expression.reset(cursor);
        fire = expression.next().toDate();
      } catch (e) {
        // cron-parser gives up ("loop limit exceeded") only when no date matches for years on end.
        if (e instanceof Error && e.message === CRON_PARSER_GAVE_UP) return null;
        throw e;
      }
      if (!plan.years && !plan.dayMatches) return fire;
      const w = wallClock(fire, timeZone);
      if (plan.years && !plan.years.includes(w.year)) {
        const nextYear = plan.years.find((y) => y > w.year);
        if (nextYear === undefined) return null;
        cursor = new Date(startOfDay(nextYear, 1, 1, timeZone).getTime() - 1);
        continue;
      }
      if (plan.dayMatches && !plan.dayMatches(w)) {
        cursor = new Date(startOfDay(w.year, w.month, w.day + 1, timeZone).getTime() - 1);
        continue;
      }
      return fire;
    }
    return null;
  };

  return (after: Date): Date | null => {
    const t = after.getTime();
    if (memo && t >= memo.from && t < memo.fire) return new Date(memo.fire);
    const fire = compute(after);
    if (fire) memo = { from: t, fire: fire.getTime() };
    return fire;
  };
}
