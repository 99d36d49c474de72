/**
 * Execution and schedule metrics. The engine and the scheduler call the
 * narrow interfaces below (so they do not depend on prom-client); labels are
 * bounded enums (status, firing outcome), never execution or job ids.
 */
import { FINAL_STATUSES } from '../executions/status.js';
import client from 'prom-client';
import type { ExecutionStatus } from '../executions/sql/executions.js';
import { DELAY_BUCKETS, type Registry } from './registry.js';

/** What the execution engine reports. */
export interface EngineMetrics {
  /** An execution was marked running by this member. */
  executionStarted(): void;
  /** This member recorded the end of an execution (`n` at once for restart recovery). */
  executionFinished(status: ExecutionStatus, n?: number): void;
  /** A notification was delivered or failed (`kind`: email, webhook). */
  notification?(kind: 'email' | 'webhook', event: string, outcome: 'sent' | 'failed'): void;
}

/** What the scheduler reports for each firing it decided. */
export interface SchedulerMetrics {
  /** `delaySeconds`: from the scheduled time to the execution running (only for started firings). */
  firing(outcome: string, delaySeconds?: number): void;
}

export class ExecutionMetrics implements EngineMetrics, SchedulerMetrics {
  private readonly started: client.Counter;
  private readonly finished: client.Counter<'status'>;
  private readonly firings: client.Counter<'outcome'>;
  private readonly firingDelay: client.Histogram;
  private readonly notifications: client.Counter<'kind' | 'event' | 'outcome'>;

  /** `running`: how many executions this member runs now (read at scrape time). */
  constructor(registry: Registry, running: () => number) {
    this.started = new client.Counter({
      name: 'tandem_executions_started_total',
      help: 'Executions this member marked running.',
      registers: [registry],
    });
    this.finished = new client.Counter({
      name: 'tandem_executions_finished_total',
      help: 'Executions whose end this member recorded, by final status (restart recovery counts as failed).',
      labelNames: ['status'],
      registers: [registry],
    });
    for (const status of FINAL_STATUSES) this.finished.inc({ status }, 0);
    new client.Gauge({
      name: 'tandem_executions_running',
      help: 'Executions running on this member now.',
      registers: [registry],
      collect() {
        this.set(running());
      },
    });
    this.notifications = new client.Counter({
      name: 'tandem_notifications_total',
      help: 'Notifications this member tried to deliver, by kind (email), event and outcome (sent, failed).',
      labelNames: ['kind', 'event', 'outcome'],
      registers: [registry],
    });
    for (const outcome of ['sent', 'failed']) this.notifications.inc({ kind: 'email', event: 'onfailure', outcome }, 0);
    this.firings = new client.Counter({
      name: 'tandem_schedule_firings_total',
      help: 'Scheduled firings decided by this member, by outcome (started, skipped_misfire, skipped_running, failed, lost_race).',
      labelNames: ['outcome'],
      registers: [registry],
    });
    this.firingDelay = new client.Histogram({
      name: 'tandem_schedule_firing_delay_seconds',
      help: 'From a firing\'s scheduled time to its execution running.',
      buckets: DELAY_BUCKETS,
      registers: [registry],
    });
  }

  executionStarted(): void {
    this.started.inc();
  }

  notification(kind: 'email' | 'webhook', event: string, outcome: 'sent' | 'failed'): void {
    this.notifications.inc({ kind, event, outcome });
  }

  executionFinished(status: ExecutionStatus, n = 1): void {
    if (n > 0) this.finished.inc({ status }, n);
  }

  firing(outcome: string, delaySeconds?: number): void {
    this.firings.inc({ outcome });
    if (delaySeconds !== undefined) this.firingDelay.observe(Math.max(0, delaySeconds));
  }
}
