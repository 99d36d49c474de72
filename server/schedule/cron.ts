/**
 * Cron schedules of jobs: Rundeck's Quartz `crontab` (7 fields), Rundeck's
 * structured `time`/`weekday`/`month` form and plain 5-field cron, each in a
 * named time zone.
 */

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
