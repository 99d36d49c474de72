import t from 'tap';
import { TandemError } from '../../server/errors.js';
import {
  compileSchedule,
  fireTimesBetween,
  parseScheduleSpec,
  type CompiledSchedule,
  type ScheduleSpec,
} from '../../server/schedule/cron.js';

function compile(raw: unknown, timeZone?: string): CompiledSchedule {
  return compileSchedule(parseScheduleSpec(raw, timeZone, 'jobs[0].schedule'));
}

/** The first `n` fire times after `from`, as ISO strings. */
function fires(s: CompiledSchedule, from: string, n: number): string[] {
  const out: string[] = [];
  let cursor = new Date(from);
  for (let i = 0; i < n; i++) {
    const next = s.next(cursor);
    if (!next) break;
    out.push(next.toISOString());
    cursor = next;
  }
  return out;
}

function refused(raw: unknown, timeZone?: string): TandemError {
  try {
    compile(raw, timeZone);
  } catch (e) {
    if (e instanceof TandemError) return e;
    throw e;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be refused`);
}

const iso = (s: string) => new Date(s).toISOString();

t.test('Quartz crontab: fields, day-of-week numbering and names', async (t) => {
  // 2026-01-01 is a Thursday.
  t.same(fires(compile({ crontab: '0 30 2 ? * MON-FRI *' }, 'UTC'), '2026-01-01T00:00:00Z', 3), [
    iso('2026-01-01T02:30:00Z'),
    iso('2026-01-02T02:30:00Z'),
    iso('2026-01-05T02:30:00Z'),
  ]);
  t.same(fires(compile({ crontab: '0 0 12 ? * 2' }, 'UTC'), '2026-01-01T00:00:00Z', 2), [iso('2026-01-05T12:00:00Z'), iso('2026-01-12T12:00:00Z')], 'Quartz 2 is Monday (1=SUN)');
  t.same(fires(compile({ crontab: '0 0 12 ? * 1,7' }, 'UTC'), '2026-01-01T00:00:00Z', 2), [iso('2026-01-03T12:00:00Z'), iso('2026-01-04T12:00:00Z')], '1 and 7 are Sunday and Saturday');
  t.same(fires(compile({ crontab: '0 0 0 ? * 2/2' }, 'UTC'), '2026-01-01T00:00:00Z', 3), [iso('2026-01-02T00:00:00Z'), iso('2026-01-05T00:00:00Z'), iso('2026-01-07T00:00:00Z')], 'step from Monday: MON, WED, FRI');
  t.same(fires(compile({ crontab: '0 0 0 ? * FRI-MON' }, 'UTC'), '2026-01-05T00:00:00Z', 2), [iso('2026-01-09T00:00:00Z'), iso('2026-01-10T00:00:00Z')], 'a range wrapping over the end of the week');
  t.same(fires(compile({ crontab: '15 */20 9-10 ? jan,FEB *' }, 'UTC'), '2026-01-01T00:00:00Z', 4), [
    iso('2026-01-01T09:00:15Z'),
    iso('2026-01-01T09:20:15Z'),
    iso('2026-01-01T09:40:15Z'),
    iso('2026-01-01T10:00:15Z'),
  ], 'seconds, steps, ranges, month names in any case');
  t.same(fires(compile({ crontab: '0 0 0 1 * ?' }, 'UTC'), '2026-01-15T00:00:00Z', 2), [iso('2026-02-01T00:00:00Z'), iso('2026-03-01T00:00:00Z')], 'six fields (no year)');
});

t.test('Quartz specials: L, L-n, W, LW, nL, n#k', async (t) => {
  const from = '2026-01-01T00:00:00Z';
  t.same(fires(compile('0 0 0 L * ?', 'UTC'), from, 2), [iso('2026-01-31T00:00:00Z'), iso('2026-02-28T00:00:00Z')], 'L: last day of the month');
  t.same(fires(compile('0 0 0 L-2 * ?', 'UTC'), from, 2), [iso('2026-01-29T00:00:00Z'), iso('2026-02-26T00:00:00Z')], 'L-2: two days before the last');
  // 15 Feb 2026 is a Sunday, 1 Feb a Sunday, 1 Aug a Saturday, 31 Jan a Saturday, 31 May a Sunday.
  t.same(fires(compile('0 0 0 15W * ?', 'UTC'), from, 2), [iso('2026-01-15T00:00:00Z'), iso('2026-02-16T00:00:00Z')], '15W: Sunday moves to Monday');
  t.same(fires(compile('0 0 0 1W * ?', 'UTC'), '2026-01-15T00:00:00Z', 1), [iso('2026-02-02T00:00:00Z')], '1W on a Sunday: Monday the 2nd');
  t.same(fires(compile('0 0 0 1W * ?', 'UTC'), '2026-07-15T00:00:00Z', 1), [iso('2026-08-03T00:00:00Z')], '1W on a Saturday: Monday the 3rd, not the previous month');
  t.same(fires(compile('0 0 0 LW * ?', 'UTC'), from, 1), [iso('2026-01-30T00:00:00Z')], 'LW: last weekday');
  t.same(fires(compile('0 0 0 LW * ?', 'UTC'), '2026-05-01T00:00:00Z', 1), [iso('2026-05-29T00:00:00Z')]);
  t.same(fires(compile('0 0 0 ? * 6L', 'UTC'), from, 2), [iso('2026-01-30T00:00:00Z'), iso('2026-02-27T00:00:00Z')], '6L: last Friday');
  t.same(fires(compile('0 0 0 ? * L', 'UTC'), from, 1), [iso('2026-01-03T00:00:00Z')], 'L alone in day-of-week: Saturday');
  t.same(fires(compile('0 0 0 ? * MON#2', 'UTC'), from, 2), [iso('2026-01-12T00:00:00Z'), iso('2026-02-09T00:00:00Z')], 'MON#2: second Monday');
  t.same(fires(compile('0 0 0 29 2 ?', 'UTC'), from, 2), [iso('2028-02-29T00:00:00Z'), iso('2032-02-29T00:00:00Z')], '29 February: leap years only');
  t.same(fires(compile('0 0 0 ? FEB 6#5', 'UTC'), from, 1), [iso('2036-02-29T00:00:00Z')], 'a fifth Friday in February: a decade away');
  t.equal(compile('0 0 0 29 2 ? 2029-2031', 'UTC').next(new Date(from)), null, '29 February in years without one: never');
});

t.test('Quartz year field', async (t) => {
  t.same(fires(compile('0 0 0 1 1 ? 2027,2030', 'UTC'), '2026-01-01T00:00:00Z', 5), [iso('2027-01-01T00:00:00Z'), iso('2030-01-01T00:00:00Z')], 'a list of years, then never again');
  t.same(fires(compile('0 0 12 ? * MON 2028-2029', 'Europe/Berlin'), '2026-06-01T00:00:00Z', 1), [iso('2028-01-03T11:00:00Z')], 'a range of years in a zone');
  t.same(fires(compile('0 0 0 1 JAN ? 2030/5', 'UTC'), '2026-01-01T00:00:00Z', 3), [iso('2030-01-01T00:00:00Z'), iso('2035-01-01T00:00:00Z'), iso('2040-01-01T00:00:00Z')], 'years with a step');
  t.equal(compile('0 0 0 1 1 ? 2020', 'UTC').next(new Date('2026-01-01T00:00:00Z')), null, 'a schedule in the past never fires');
  t.same(fires(compile('0 0 0 31 12 ? 2026', 'Pacific/Kiritimati'), '2026-01-01T00:00:00Z', 1), [iso('2026-12-30T10:00:00Z')], 'the year is the year in the schedule zone (UTC+14)');
  t.same(fires(compile('0 0 23 31 12 ? 2026', 'Pacific/Pago_Pago'), '2026-01-01T00:00:00Z', 1), [iso('2027-01-01T10:00:00Z')], 'the year is the year in the schedule zone (UTC-11)');
});

t.test('time zones and daylight saving time (Europe/Berlin)', async (t) => {
  const daily = compile('0 30 2 * * ?', 'Europe/Berlin');
  t.equal(daily.timeZone, 'Europe/Berlin');
  // Spring forward: 2026-03-29 02:00 CET → 03:00 CEST; 02:30 does not exist that day.
  t.same(fires(daily, '2026-03-27T12:00:00Z', 3), [
    iso('2026-03-28T01:30:00Z'), // 02:30 CET
    iso('2026-03-29T01:30:00Z'), // the skipped 02:30 fires once, at 03:30 CEST
    iso('2026-03-30T00:30:00Z'), // 02:30 CEST
  ]);
  // Fall back: 2026-10-25 03:00 CEST → 02:00 CET; 02:30 happens twice and fires once.
  t.same(fires(daily, '2026-10-24T12:00:00Z', 2), [iso('2026-10-25T00:30:00Z'), iso('2026-10-26T01:30:00Z')]);
  const halfHourly = compile('0 0/30 * * * ?', 'Europe/Berlin');
  t.same(fires(halfHourly, '2026-10-25T00:00:00Z', 4), [
    iso('2026-10-25T00:30:00Z'),
    iso('2026-10-25T01:00:00Z'),
    iso('2026-10-25T01:30:00Z'),
    iso('2026-10-25T02:00:00Z'),
  ], 'every 30 minutes keeps its interval through the repeated hour');
  t.same(fires(halfHourly, '2026-03-29T00:00:00Z', 3), [iso('2026-03-29T00:30:00Z'), iso('2026-03-29T01:00:00Z'), iso('2026-03-29T01:30:00Z')], 'and through the skipped hour');
  const noon = compile('0 0 12 * * ?', 'Europe/Berlin');
  t.same(fires(noon, '2026-03-28T00:00:00Z', 2), [iso('2026-03-28T11:00:00Z'), iso('2026-03-29T10:00:00Z')], 'noon is 11:00Z in winter and 10:00Z in summer');
  t.same(fires(compile('0 0 12 * * ?', 'America/New_York'), '2026-03-07T00:00:00Z', 2), [iso('2026-03-07T17:00:00Z'), iso('2026-03-08T16:00:00Z')], 'America/New_York changes on another date');
  t.same(fires(compile('0 0 12 * * ?'), '2026-03-28T00:00:00Z', 1), [iso('2026-03-28T12:00:00Z')], 'no time zone: UTC');
  t.equal(compile('0 0 12 * * ?').timeZone, 'UTC');
});

t.test('a zone whose midnight is skipped (America/Santiago, 6 September 2026)', async (t) => {
  t.same(fires(compile('0 0 0 * * ?', 'America/Santiago'), '2026-09-05T12:00:00Z', 2), [iso('2026-09-06T04:00:00Z'), iso('2026-09-07T03:00:00Z')], 'the missing 00:00 fires at 01:00 (-03), the next day at 00:00 -03');
  // 7 September is a Monday, so 7W is the 7th; the 5th and 6th are rejected by Tandem's W rule, across the gap.
  t.same(fires(compile('0 30 23 7W * ?', 'America/Santiago'), '2026-09-01T00:00:00Z', 1), [iso('2026-09-08T02:30:00Z')]);
  t.same(fires(compile('30 23 6-8 9 MON', 'America/Santiago'), '2026-09-01T00:00:00Z', 2), [iso('2026-09-07T02:30:00Z'), iso('2026-09-08T02:30:00Z')], '5-field cron, either day rule, across the gap');
});

t.test('Rundeck structured form', async (t) => {
  const s = compile({ time: { hour: '06', minute: '15', seconds: '0' }, month: '*', weekday: { day: 'MON,WED,FRI' }, year: '*' }, 'America/New_York');
  t.same(fires(s, '2026-01-01T00:00:00Z', 3), [iso('2026-01-02T11:15:00Z'), iso('2026-01-05T11:15:00Z'), iso('2026-01-07T11:15:00Z')]);
  t.match(s.describe(), /0 15 06 \? \* MON,WED,FRI \*.*America\/New_York/);
  const monthly = compile({ time: { hour: 3, minute: 0 }, month: 'JAN,JUL', dayofmonth: { day: '1' } }, 'UTC');
  t.same(monthly.spec, { kind: 'structured', time: { hour: '3', minute: '0' }, month: 'JAN,JUL', dayofmonth: { day: '1' }, timeZone: 'UTC' }, 'numbers from YAML become strings');
  t.same(fires(monthly, '2026-01-02T00:00:00Z', 2), [iso('2026-07-01T03:00:00Z'), iso('2027-01-01T03:00:00Z')]);
});

t.test('plain 5-field cron', async (t) => {
  const spec = parseScheduleSpec({ crontab: '*/15 9-17 * * 1-5' }, 'Europe/Berlin');
  t.same(spec, { kind: 'cron5', expression: '*/15 9-17 * * 1-5', timeZone: 'Europe/Berlin' });
  const s = compileSchedule(spec);
  t.same(fires(s, '2026-01-02T16:40:00Z', 3), [iso('2026-01-02T16:45:00Z'), iso('2026-01-05T08:00:00Z'), iso('2026-01-05T08:15:00Z')], 'day-of-week 1-5 is MON-FRI (0=SUN)');
  t.same(fires(compile('0 0 * * 0', 'UTC'), '2026-01-01T00:00:00Z', 1), fires(compile('0 0 * * 7', 'UTC'), '2026-01-01T00:00:00Z', 1), '0 and 7 are both Sunday');
  t.same(fires(compile('0 9 13 * FRI', 'UTC'), '2026-01-01T00:00:00Z', 3), [iso('2026-01-02T09:00:00Z'), iso('2026-01-09T09:00:00Z'), iso('2026-01-13T09:00:00Z')], 'both day fields restricted: either matches (Vixie cron)');
  t.same(fires(compile('0 9 */2 * FRI', 'UTC'), '2026-01-01T00:00:00Z', 2), [iso('2026-01-09T09:00:00Z'), iso('2026-01-23T09:00:00Z')], 'a day field starting with *: both must match (Vixie cron)');
  t.same(compileSchedule({ kind: 'cron5', expression: '30 2 * * *' }).next(new Date('2026-03-29T00:00:00Z')), new Date('2026-03-29T02:30:00Z'));
  t.same(parseScheduleSpec('0 0 1 1 *'), { kind: 'cron5', expression: '0 0 1 1 *' }, 'a bare string is a crontab');
});

t.test('fireTimesBetween: (from, to], capped', async (t) => {
  const s = compile('0 0 * * * ?', 'UTC');
  const between = fireTimesBetween(s, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T03:00:00Z'));
  t.same(between.map((d) => d.toISOString()), [iso('2026-01-01T01:00:00Z'), iso('2026-01-01T02:00:00Z'), iso('2026-01-01T03:00:00Z')], 'from excluded, to included');
  t.equal(fireTimesBetween(s, new Date('2026-01-01T00:00:00Z'), new Date('2026-02-01T00:00:00Z'), 10).length, 10, 'max');
  t.same(fireTimesBetween(s, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:59:59Z')), [], 'none in the window');
  t.same(fireTimesBetween(compile('0 0 0 1 1 ? 2027', 'UTC'), new Date('2026-01-01T00:00:00Z'), new Date('2040-01-01T00:00:00Z')).map(String), [String(new Date('2027-01-01T00:00:00Z'))], 'stops when the schedule ends');
  t.equal(s.next(new Date('2026-01-01T00:59:59.999Z'))!.toISOString(), iso('2026-01-01T01:00:00Z'), 'milliseconds before a fire time');
  t.equal(s.next(new Date('2026-01-01T01:00:00.000Z'))!.toISOString(), iso('2026-01-01T02:00:00Z'), 'strictly after');
});

t.test('invalid schedules: invalid_cron naming the field', async (t) => {
  const cases: Array<[string, unknown, string | undefined, string, RegExp]> = [
    ['too few fields', { crontab: '0 0 12 ?' }, undefined, 'jobs[0].schedule.crontab', /expected 6 or 7 fields/],
    ['too many fields', { crontab: '0 0 12 ? * * 2026 x' }, undefined, 'jobs[0].schedule.crontab', /expected 6 or 7 fields/],
    ['hour out of range', { crontab: '0 0 24 ? * *' }, undefined, 'jobs[0].schedule.crontab', /hours: 24 is out of range 0-23 in "0 0 24 \? \* \*"/],
    ['Quartz day-of-week 0', { crontab: '0 0 12 ? * 0' }, undefined, 'jobs[0].schedule.crontab', /day-of-week: 0 is out of range 1-7/],
    ['bad name', { crontab: '0 0 12 ? * MONDAY' }, undefined, 'jobs[0].schedule.crontab', /day-of-week: "MONDAY" is not a number or one of SUN/],
    ['both day fields', { crontab: '0 0 12 15 * MON' }, undefined, 'jobs[0].schedule.crontab', /put \? in one of them/],
    ['both ?', { crontab: '0 0 12 ? * ?' }, undefined, 'jobs[0].schedule.crontab', /cannot both be \?/],
    ['? elsewhere', { crontab: '0 ? 12 * * ?' }, undefined, 'jobs[0].schedule.crontab', /\? is only allowed/],
    ['W in a list', { crontab: '0 0 0 1W,15 * ?' }, undefined, 'jobs[0].schedule.crontab', /L and W must stand alone/],
    ['# week out of range', { crontab: '0 0 0 ? * 2#6' }, undefined, 'jobs[0].schedule.crontab', /# must be 1-5/],
    ['never: 30 February', { crontab: '0 0 0 30 2 ?' }, undefined, 'jobs[0].schedule.crontab', /never fires/],
    ['never: 31W in a 30-day month', { crontab: '0 0 0 31W 4 ?' }, undefined, 'jobs[0].schedule.crontab', /never occurs/],
    ['never: L-29 in February', { crontab: '0 0 0 L-29 FEB ?' }, undefined, 'jobs[0].schedule.crontab', /never occurs/],
    ['year out of range', { crontab: '0 0 0 1 1 ? 1900' }, undefined, 'jobs[0].schedule.crontab', /year: 1900 is out of range/],
    ['random H is not allowed', { crontab: 'H * * * *' }, undefined, 'jobs[0].schedule.crontab', /minutes: "H" is not a number/],
    ['cron5 field', { crontab: '0 0 32 * *' }, undefined, 'jobs[0].schedule.crontab', /day-of-month: 32 is out of range 1-31/],
    ['cron5 never', { crontab: '0 0 31 2 *' }, undefined, 'jobs[0].schedule.crontab', /never occurs/],
    ['unknown zone', { crontab: '0 0 12 * * ?' }, 'Europe/Atlantis', 'jobs[0].timeZone', /unknown time zone "Europe\/Atlantis"/],
    ['structured minute', { time: { hour: '1', minute: '61' }, month: '*' }, undefined, 'jobs[0].schedule.time.minute', /minutes: 61/],
    ['structured weekday', { time: { hour: '1', minute: '1' }, month: '*', weekday: { day: 'FUNDAY' } }, undefined, 'jobs[0].schedule.weekday.day', /FUNDAY/],
    ['structured month', { time: { hour: '1', minute: '1' }, month: '13' }, undefined, 'jobs[0].schedule.month', /month: 13/],
    ['structured year', { time: { hour: '1', minute: '1' }, month: '*', year: '20x' }, undefined, 'jobs[0].schedule.year', /year/],
    ['structured field with spaces', { time: { hour: '1 2', minute: '1' }, month: '*' }, undefined, 'jobs[0].schedule.time.hour', /one cron field/],
    ['crontab not a string', { crontab: 5 }, undefined, 'jobs[0].schedule.crontab', /must be a string/],
  ];
  for (const [what, raw, tz, field, message] of cases) {
    const e = refused(raw, tz);
    t.equal(e.code, 'invalid_cron', `${what}: code`);
    t.equal(e.status, 400, `${what}: status`);
    t.equal(e.field, field, `${what}: field`);
    t.match(e.message, message, `${what}: ${e.message}`);
    t.ok(e.message.startsWith(`${field}: `), `${what}: message starts with the field`);
  }
  const shape = (raw: unknown) => {
    try {
      parseScheduleSpec(raw, undefined, 'jobs[0].schedule');
    } catch (e) {
      if (e instanceof TandemError) return e;
      throw e;
    }
    throw new Error('expected an error');
  };
  t.match(shape({ crontab: '* * * * *', cron: 'x' }), { code: 'validation_failed', field: 'jobs[0].schedule.cron' }, 'unknown key beside crontab');
  t.match(shape({ when: 'daily' }), { code: 'validation_failed', field: 'jobs[0].schedule' }, 'neither crontab nor time');
  t.match(shape(42), { code: 'validation_failed', field: 'jobs[0].schedule' });
  t.match(shape({ time: { hour: '1', minute: '1', millis: '5' }, month: '*' }), { code: 'validation_failed', field: 'jobs[0].schedule.time.millis' });
  const direct: ScheduleSpec = { kind: 'quartz', crontab: '0 0 25 * * ?' };
  t.throws(() => compileSchedule(direct), { code: 'invalid_cron', field: 'schedule.crontab' }, 'compileSchedule validates too');
  t.throws(() => compileSchedule({ kind: 'cron5', expression: '* * * * *', timeZone: 'Nowhere/Land' }), { code: 'invalid_cron', field: 'timeZone' });
});

t.test('describe() says what and where', async (t) => {
  t.equal(compile('0 30 2 ? * MON-FRI *', 'Europe/Berlin').describe(), 'Quartz cron "0 30 2 ? * MON-FRI *" in Europe/Berlin');
  t.equal(compile('*/5 * * * *').describe(), 'cron "*/5 * * * *" in UTC');
});

t.test('asking again before the next fire time gives the same answer', async (t) => {
  const s = compile('0 0 12 ? * MON-FRI', 'Europe/Berlin');
  const first = s.next(new Date('2026-01-02T12:00:00Z'))!;
  t.equal(first.toISOString(), iso('2026-01-05T11:00:00Z'));
  first.setTime(0);
  for (const at of ['2026-01-02T12:00:00Z', '2026-01-03T00:00:00Z', '2026-01-05T10:59:59.999Z']) {
    t.equal(s.next(new Date(at))!.toISOString(), iso('2026-01-05T11:00:00Z'), `from ${at} (a returned date can be changed by the caller)`);
  }
  t.equal(s.next(new Date('2026-01-05T11:00:00Z'))!.toISOString(), iso('2026-01-06T11:00:00Z'), 'at the fire time: the following one');
  t.equal(s.next(new Date('2026-01-01T00:00:00Z'))!.toISOString(), iso('2026-01-01T11:00:00Z'), 'earlier than before: computed again');
});
