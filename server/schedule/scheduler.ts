/**
 * The scheduler loop of one member. Every tick it reads the scheduled jobs,
 * works out which firing is due (see misfire.ts) and, in ONE transaction:
 * checks the site may write, claims the firing by inserting its unique
 * (job, scheduled time) row with `on conflict do nothing`, and only if that
 * insert won creates the execution. Any number of members may run this loop
 * against the same database: each firing starts at most one execution.
 */
import type pg from 'pg';
import { errorMessage, isTandemError } from '../errors.js';
import type { JobDefinition } from '../jobs/definition.js';
import type { Logger } from '../log.js';
import { compileSchedule, fireTimesBetween, type CompiledSchedule } from './cron.js';
import { assertWritable } from '../site/guard.js';
import { insertFiring, setFiringOutcome } from './sql/insert-firing.js';
import type { JobRow } from '../jobs/sql/jobs.js';
import { lastFirings } from './sql/last-firings.js';
import { listScheduledJobs } from '../jobs/sql/list-scheduled-jobs.js';
import { withTransaction } from '../db/tx.js';
import { createExecution } from '../executions/create.js';
import type { ExecutionEngine } from '../executions/engine.js';
import type { SchedulerMetrics } from '../metrics/executions.js';
import { decideFiring, type MisfirePolicy } from './misfire.js';

export interface SchedulerOptions {
  pool: pg.Pool;
  engine: ExecutionEngine;
  log: Logger;
  member: string;
  intervalMs?: number;
  misfireGraceMs?: number;
  misfirePolicy?: MisfirePolicy;
  /** Furthest back a resume point may be (default 24 h); older fire times are not even counted. */
  maxLookbackMs?: number;
  /** Counts firings by outcome and the delay from scheduled time to running. */
  metrics?: SchedulerMetrics;
  /** False while this member (or its site) is in execution mode passive: it fires nothing (server/cluster/). */
  mayFire?: () => boolean;
  /** Which member runs a firing (remote execution policy, server/cluster/dispatch.ts); absent: this member. */
  dispatch?: SchedulerDispatch;
}

export interface SchedulerDispatch {
  choose(project: string, def: JobDefinition): Promise<string>;
  /** In the firing's transaction: record the hand-over to `member` (woken at commit). */
  handedOver(db: pg.PoolClient, executionId: string, member: string): Promise<void>;
}

export interface TickFiring {
  jobId: string;
  scheduledTime: Date;
  outcome: 'started' | 'skipped_misfire' | 'skipped_running' | 'failed' | 'lost_race';
  executionId?: string;
}

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<unknown> = Promise.resolve();
  private stopped = true;
  private readonly compiled = new Map<string, { version: number; schedule: CompiledSchedule }>();

  constructor(private readonly o: SchedulerOptions) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.tick()
        .catch((e) => this.o.log.error('scheduler tick failed', { error: e }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.o.intervalMs ?? 1000);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
  }

  private schedule(job: JobRow): CompiledSchedule | null {
    const c = this.compiled.get(job.id);
    if (c && c.version === job.version) return c.schedule;
    const def = job.definition;
    if (!def.schedule) return null;
    const schedule = compileSchedule(def.schedule);
    this.compiled.set(job.id, { version: job.version, schedule });
    return schedule;
  }

  /** One pass over every scheduled job at time `now` (tests pass their own clock). */
  async tick(now: Date = new Date()): Promise<TickFiring[]> {
    if (!this.o.engine.isAccepting || this.o.mayFire?.() === false) return [];
    const jobs = await listScheduledJobs(this.o.pool);
    if (!jobs.length) return [];
    const last = await lastFirings(this.o.pool, jobs.map((j) => j.id));
    const lookback = now.getTime() - (this.o.maxLookbackMs ?? 24 * 3_600_000);
    const out: TickFiring[] = [];
    for (const job of jobs) {
      try {
        const schedule = this.schedule(job);
        if (!schedule) continue;
        const resume = Math.max(last.get(job.id)?.getTime() ?? job.updatedAt.getTime(), job.updatedAt.getTime(), lookback);
        const due = dueTimes(schedule, new Date(resume), now);
        const decision = decideFiring(due.latest, due.missed, now, this.o.misfireGraceMs ?? 60_000, this.o.misfirePolicy ?? 'runOnce');
        if (!decision) continue;
        out.push(await this.fire(job, decision.scheduledTime, decision.run, decision.message));
      } catch (e) {
        // Refused by the role check in the firing's own transaction: the site stopped being active since this
        // tick began (a switchover, a fence). Expected for one tick; the site monitor stops the scheduler.
        if (isTandemError(e) && e.code === 'site_passive') this.o.log.info('not firing: this site is no longer active', { jobId: job.id, reason: e.message });
        else this.o.log.error('cannot fire scheduled job', { jobId: job.id, error: e });
      }
    }
    return out;
  }

  private async fire(job: JobRow, scheduledTime: Date, run: boolean, message: string | null): Promise<TickFiring> {
    const base = { jobId: job.id, scheduledTime };
    const def = job.definition as JobDefinition;
    // Chosen before the transaction: when no member may run it now, the firing is not claimed and is tried again next tick.
    const target = run && this.o.dispatch ? await this.o.dispatch.choose(job.project, def) : this.o.member;
    const local = target === this.o.member;
    const result = await withTransaction(this.o.pool, async (c) => {
      await assertWritable(c);
      const won = await insertFiring(c, { jobId: job.id, scheduledTime, member: this.o.member, outcome: run ? 'started' : 'skipped_misfire', message });
      if (!won) return { ...base, outcome: 'lost_race' as const };
      if (!run) return { ...base, outcome: 'skipped_misfire' as const };
      await c.query('savepoint start_execution');
      try {
        const created = await createExecution(c, {
          job: { projectId: job.projectId, jobId: job.id, name: job.name, group: job.groupPath, definition: job.definition as JobDefinition },
          options: {},
          trigger: 'schedule',
          user: job.updatedBy ?? job.createdBy,
          roles: job.updatedByRoles,
          member: target,
          scheduledTime,
          startNow: local ? this.o.engine.startNowFor({ project: job.project, jobId: job.id }) : undefined,
        });
        if (!local) await this.o.dispatch!.handedOver(c, created.id, target);
        await setFiringOutcome(c, { jobId: job.id, scheduledTime, outcome: 'started', executionId: created.id, message });
        return { ...base, outcome: 'started' as const, executionId: created.id, values: created.values };
      } catch (e) {
        // The firing stays recorded (it must not happen again), with why it did not run.
        await c.query('rollback to savepoint start_execution');
        const outcome = isTandemError(e) && e.code === 'conflict' ? ('skipped_running' as const) : ('failed' as const);
        await setFiringOutcome(c, { jobId: job.id, scheduledTime, outcome, executionId: null, message: errorMessage(e) });
        return { ...base, outcome };
      }
    });
    if (result.outcome === 'started') {
      this.o.log.info('scheduled job fired', { jobId: job.id, scheduledTime: scheduledTime.toISOString(), executionId: result.executionId, member: target });
      if (local) await this.o.engine.start(result.executionId!, result.values!);
      this.o.metrics?.firing('started', (Date.now() - scheduledTime.getTime()) / 1000);
      return { ...base, outcome: 'started', executionId: result.executionId };
    }
    this.o.metrics?.firing(result.outcome);
    if (result.outcome !== 'lost_race') this.o.log.warn('scheduled firing did not run', { jobId: job.id, scheduledTime: scheduledTime.toISOString(), outcome: result.outcome });
    return result;
  }
}

/** The latest fire time in (from, to] and how many earlier ones there are, paging so memory stays small. */
export function dueTimes(s: CompiledSchedule, from: Date, to: Date): { latest: Date | null; missed: number } {
  const page = 1000;
  let count = 0;
  let latest: Date | null = null;
  let cursor = from;
  for (;;) {
    const p = fireTimesBetween(s, cursor, to, page);
    if (!p.length) break;
    count += p.length;
    latest = p[p.length - 1]!;
    cursor = latest;
    if (p.length < page) break;
  }
  return { latest, missed: Math.max(0, count - 1) };
}
