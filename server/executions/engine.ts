/**
 * The execution engine of one job-server member: takes queued executions,
 * marks them running (inside a transaction that checks the site may write),
 * runs their steps with the executor, writes the log, applies the timeout,
 * honours abort requests (local ones at once, those made through another
 * member by polling), closes the execution and schedules Rundeck-style
 * retries. On SIGTERM `drain()` lets running executions finish for a while,
 * then kills and closes the rest.
 *
 * In a cluster (server/cluster/) every execution is run under the generation
 * of this member's incarnation: its writes are refused once that generation
 * has been declared dead (`fence`), and `fenced()` kills what it still runs.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { errorMessage, TandemError } from '../errors.js';
import type { PolicySet } from '../auth/acl/evaluate.js';
import type { JobDefinition } from '../jobs/definition.js';
import { secureOptionValues } from '../jobs/options.js';
import type { Logger } from '../log.js';
import type { LogStore, LogWriter } from '../logs/store.js';
import type { EngineMetrics } from '../metrics/executions.js';
import { assertWritable } from '../site/guard.js';
import type { ExecutionRow, ExecutionStatus } from './sql/executions.js';
import { finishExecution } from './sql/finish-execution.js';
import { finishExecutionIfWritable } from './sql/finish-execution-if-writable.js';
import { getExecution } from './sql/get-execution.js';
import { listAbortRequested } from './sql/list-abort-requested.js';
import { markExecutionRunning } from './sql/mark-execution-running.js';
import { withTransaction } from '../db/tx.js';
import { upsertLogObject } from '../logs/sql/upsert-log-object.js';
import { createExecution, jobTitle } from './create.js';
import type { Executor, StepProcess } from './executor.js';
import { logKeyFor } from './log-key.js';
import { notify } from './notify.js';
import type { EmailContext, EmailNotifier } from './email.js';
import { averageJobDuration } from '../jobs/sql/average-job-duration.js';
import { makeMasker } from './output.js';
import { assertRoleAllowed, guardMustDecide } from './site-gate.js';
import { systemLine, type StopReason } from './steps.js';
import { jobContext } from '../nodes/context.js';
import { runWorkflow, type DispatchDeps } from '../nodes/dispatch.js';

export interface EngineOptions {
  pool: pg.Pool;
  store: LogStore;
  executor: Executor;
  log: Logger;
  /** This member's name, recorded on every execution it runs. */
  member: string;
  /** Log object key template (`${project}/${executionId}.log`). */
  pathTemplate: string;
  /** How often to look for abort requests made through other members (default 1 s). */
  abortPollMs?: number;
  /** Counts executions started and finished here. */
  metrics?: EngineMetrics;
  /** Node model and node executors (server/nodes/); absent: every job runs on the server itself. */
  nodes?: DispatchDeps;
  /** The access policies: job references are checked against them when they run (jobref-access.ts). */
  policies: PolicySet;
  /** Sends the jobs' e-mail notifications (absent: none are sent, e.g. in tests that need none). */
  email?: EmailNotifier;
  /** This member's cluster incarnation (absent: no fencing, e.g. an engine alone in a test). */
  fence?: EngineFence;
}

/** What the engine needs of the cluster membership (server/cluster/membership.ts). */
export interface EngineFence {
  /** The current incarnation's generation; null while it is not (or no longer) registered. */
  generation(): number | null;
  /** Resolves while `generation` may still write; throws `member_fenced` once it was declared dead. */
  confirm(generation: number): Promise<void>;
}

/** What a retry needs of the execution it repeats. */
export type RetrySource = Pick<ExecutionRow, 'id' | 'projectId' | 'jobId' | 'jobName' | 'jobGroup' | 'userName' | 'userRoles' | 'attempt' | 'retryOf'>;

interface Running {
  id: string;
  stop: StopReason | null;
  stoppedBy: string | null;
  current: StepProcess | null;
  done: Promise<void>;
  /** Generation of this member's incarnation when it started (null: not fenced). */
  generation: number | null;
  /** Its generation was declared dead: it writes nothing more (the recovering member closed it). */
  fenced: boolean;
}

export class ExecutionEngine {
  private readonly running = new Map<string, Running>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private accepting = true;
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: EngineOptions) {
    this.pollTimer = setInterval(() => void this.pollAborts(), o.abortPollMs ?? 1000);
    this.pollTimer.unref();
  }

  get member(): string {
    return this.o.member;
  }

  /** False once draining: callers must refuse new executions. */
  get isAccepting(): boolean {
    return this.accepting;
  }

  runningIds(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Start a queued execution in the background. `values` are the clear
   * option values (secure ones included), which exist only in memory.
   * `row` is the execution as the caller just wrote it (saves reading it
   * back). Resolves once the execution is running (or could not start).
   */
  start(id: string, values: Record<string, string>, row?: ExecutionRow): Promise<void> {
    let markedRunning!: () => void;
    const started = new Promise<void>((r) => (markedRunning = r));
    const r: Running = { id, stop: null, stoppedBy: null, current: null, done: Promise.resolve(), generation: this.o.fence?.generation() ?? null, fenced: false };
    this.running.set(id, r);
    r.done = this.run(r, values, markedRunning, row)
      .catch((e) => this.o.log.error('execution failed in the engine', { executionId: id, error: e }))
      .finally(() => {
        this.running.delete(id);
        markedRunning();
      });
    return started;
  }

  /**
   * Id and log key for an execution that the caller inserts already running
   * (`createExecution({ startNow })`) and hands to `start` right after its
   * transaction commits: the request's own transaction makes it running.
   */
  startNowFor(e: { project: string; jobId: string | null }): { id: string; logStore: string; logKey: string } {
    const id = randomUUID();
    return { id, logStore: this.o.store.kind, logKey: logKeyFor(this.o.pathTemplate, { id, project: e.project, jobId: e.jobId }) };
  }

  /** Kill a running execution of this member; false when it does not run here. */
  abort(id: string, by: string | null): boolean {
    const r = this.running.get(id);
    if (!r) return false;
    this.stop(r, 'aborted', by);
    return true;
  }

  /**
   * The incarnation `generation` was declared dead and its executions closed
   * by another member: kill their steps (SIGTERM, then SIGKILL after the
   * grace) and write nothing more for them.
   */
  fenced(generation: number): string[] {
    const killed: string[] = [];
    for (const r of this.running.values()) {
      if (r.generation !== generation) continue;
      r.fenced = true;
      this.stop(r, 'aborted', null);
      killed.push(r.id);
    }
    if (killed.length) this.o.log.error('killed the steps of executions taken from this member', { generation, executions: killed });
    return killed;
  }

  /** The statement fence of an execution's writes (server/cluster/sql/fence.ts). */
  private writerFence(r: Running): { member: string; generation: number | null } {
    return { member: this.o.member, generation: r.generation };
  }

  /**
   * The pool an execution's steps write through: while its generation is
   * fenced nothing is written, and after a long pause the first write waits
   * for a heartbeat to tell (the step-result statements do not check the
   * generation themselves; see Membership.confirm).
   */
  private stepPool(r: Running): pg.Pool {
    const fence = this.o.fence;
    if (!fence || r.generation === null) return this.o.pool;
    const gen = r.generation;
    const pool = this.o.pool;
    return new Proxy(pool, {
      get(target, prop, receiver) {
        if (prop !== 'query') return Reflect.get(target, prop, receiver);
        return async (...args: unknown[]) => {
          if (r.fenced) throw new TandemError('member_fenced', `execution ${r.id} was taken from this member`);
          await fence.confirm(gen);
          return (target.query as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
  }

  /** Wait for an execution of this member to end (tests, drain). */
  async wait(id: string): Promise<void> {
    await this.running.get(id)?.done;
  }

  private stop(r: Running, reason: StopReason, by: string | null): void {
    if (r.stop) return;
    r.stop = reason;
    r.stoppedBy = by;
    r.current?.kill();
  }

  private async pollAborts(): Promise<void> {
    if (!this.running.size) return;
    try {
      for (const id of await listAbortRequested(this.o.pool, this.o.member)) {
        const r = this.running.get(id);
        if (r) this.stop(r, 'aborted', null);
      }
    } catch (e) {
      this.o.log.warn('cannot poll abort requests', { error: e });
    }
  }

  private async run(r: Running, values: Record<string, string>, markedRunning: () => void, given?: ExecutionRow): Promise<void> {
    const log = this.o.log.child({ executionId: r.id });
    const row = given ?? (await getExecution(this.o.pool, r.id));
    if (!row) return;
    const def = row.definition as JobDefinition;
    const key = logKeyFor(this.o.pathTemplate, row);
    // Inserted already running by this member (startNowFor): nothing to mark. Otherwise queued → running here.
    const alreadyRunning = row.status === 'running' && row.member === this.o.member;
    const startedOk = alreadyRunning || await withTransaction(this.o.pool, async (c) => {
      await assertWritable(c);
      if (!(await markExecutionRunning(c, r.id, this.o.member, r.generation))) return false;
      await upsertLogObject(c, { executionId: r.id, store: this.o.store.kind, key, size: 0, sha256: null, complete: false });
      return true;
    }).catch((e) => {
      log.error('cannot mark the execution running', { error: e });
      return false;
    });
    markedRunning();
    // Not started here (aborted meanwhile, handed to another member, fenced): its log is not ours to open —
    // another member may be writing it (see server/cluster/dispatch.ts).
    if (!startedOk) return;
    this.o.metrics?.executionStarted();
    let writer: LogWriter;
    try {
      writer = await this.o.store.open(key);
    } catch (e) {
      log.error('cannot open the execution log', { key, error: e });
      await withTransaction(this.o.pool, async (c) => {
        await assertWritable(c, 'finish');
        await finishExecution(c, r.id, 'failed', `cannot open the execution log: ${errorMessage(e)}`, this.writerFence(r));
      });
      this.o.metrics?.executionFinished('failed');
      return;
    }
    void notify(log, def.notification, 'onstart', this.payload(row, 'running'));
    void this.o.email?.send(def.email?.onstart, 'onstart', this.emailContext(row, 'running'));
    // onavgduration: mail once if still running past the job's average duration (of its last successful runs).
    let avgTimer: NodeJS.Timeout | undefined;
    let ended = false;
    const avgSpec = def.email?.onavgduration;
    if (avgSpec && row.jobId) {
      void averageJobDuration(this.o.pool, row.jobId).then(
        (avg) => {
          if (avg === null || !this.running.has(r.id)) return;
          avgTimer = setTimeout(() => {
            if (this.running.has(r.id) && !ended) void this.o.email?.send(avgSpec, 'onavgduration', this.emailContext(row, 'running'));
          }, Math.max(0, avg));
          avgTimer.unref();
        },
        (e) => log.warn('cannot read the job\'s average duration (onavgduration)', { error: e }),
      );
    }
    systemLine(writer, `execution ${r.id} of ${jobTitle({ name: row.jobName, group: row.jobGroup })} started on ${this.o.member} (attempt ${row.attempt})`);

    let timer: NodeJS.Timeout | undefined;
    if (def.timeoutMs && def.timeoutMs > 0) {
      timer = setTimeout(() => {
        systemLine(writer, `execution timed out after ${formatMs(def.timeoutMs!)}`, null, 'ERROR');
        this.stop(r, 'timedout', null);
      }, def.timeoutMs);
    }
    let status: ExecutionStatus;
    let reason: string | null = null;
    // Every secure value of the execution, and of the jobs it references (added as they start).
    const secrets = secureOptionValues(def, values);
    try {
      const result = await runWorkflow(
        {
          pool: this.stepPool(r),
          executor: this.o.executor,
          log,
          executionId: r.id,
          project: row.project,
          writer,
          secrets,
          access: { policies: this.o.policies, subject: { user: row.userName ?? '', roles: row.userRoles ?? [] } },
          stopReason: () => r.stop,
          setCurrent: (p) => {
            r.current = p;
          },
          context: {
            job: jobContext({
              executionId: r.id,
              project: row.project,
              name: row.jobName,
              group: row.jobGroup,
              jobId: row.jobId,
              user: row.userName,
              loglevel: def.loglevel,
              attempt: row.attempt,
            }),
          },
        },
        def,
        values,
        this.o.nodes,
      );
      if (r.stop === 'aborted') {
        status = 'aborted';
        reason = r.stoppedBy ? `aborted by ${r.stoppedBy}` : 'aborted';
      } else if (r.stop === 'timedout') {
        status = 'timedout';
        reason = `timed out after ${formatMs(def.timeoutMs ?? 0)}`;
      } else if (result.ok) {
        status = 'succeeded';
      } else {
        status = 'failed';
        reason = result.failure ?? 'failed';
      }
    } catch (e) {
      status = 'failed';
      reason = `internal error: ${errorMessage(e)}`;
      log.error('execution failed', { error: makeMasker(secrets)(errorMessage(e)) });
    } finally {
      if (timer) clearTimeout(timer);
      // The steps are over (also when this member was fenced meanwhile): no onavgduration mail from here on.
      ended = true;
      if (avgTimer) clearTimeout(avgTimer);
    }
    // The reason is built from user data (messages of referenced jobs, option checks): masked like a log line.
    if (reason) reason = makeMasker(secrets)(reason);
    if (r.fenced) {
      // The member that recovered it closed it as failed and sealed its log: nothing of this run is written any more.
      log.warn('execution was taken from this member while it ran; its end is not recorded here', { status, reason });
      return;
    }
    systemLine(writer, `execution ${status}${reason ? `: ${reason}` : ''}`, null, status === 'succeeded' ? 'NORMAL' : 'ERROR');
    const info = await writer.finish();
    const logObject = { store: this.o.store.kind, key, size: info.size, sha256: info.sha256, complete: true };
    // One statement (its own transaction: no begin/commit round trips) reads the site's role for share and records
    // the end; running it again is harmless (it closes only a running execution), so the pool may retry it on a
    // lost connection. The guard decides when the statement cannot.
    const fence = this.writerFence(r);
    const fenced = await finishExecutionIfWritable(this.o.pool, { id: r.id, status, reason, log: logObject, fence }).then(
      ({ role, activeUrl, fenced }) => {
        assertRoleAllowed(role, activeUrl, 'finish');
        return fenced;
      },
      async (e) => {
        if (!guardMustDecide(e)) throw e;
        return withTransaction(this.o.pool, async (c) => {
          await assertWritable(c, 'finish');
          // Refused under a fenced generation: the recovering member's seal of the log stays.
          if (await finishExecution(c, r.id, status, reason, fence)) await upsertLogObject(c, { executionId: r.id, ...logObject });
          return false;
        });
      },
    );
    if (fenced) {
      log.warn('execution end refused: this member incarnation was declared dead meanwhile', { status, generation: r.generation });
      return;
    }
    this.o.metrics?.executionFinished(status);
    log.info('execution ended', { status, reason });
    if (status === 'succeeded') void notify(log, def.notification, 'onsuccess', this.payload(row, status));
    else if (status !== 'aborted') void notify(log, def.notification, 'onfailure', this.payload(row, status));
    const mailEvent = status === 'succeeded' ? 'onsuccess' : status === 'aborted' ? undefined : 'onfailure';
    if (mailEvent) void this.o.email?.send(def.email?.[mailEvent], mailEvent, { ...this.emailContext(row, status), reason }, () => this.logText(key));
    if ((status === 'failed' || status === 'timedout') && row.attempt <= (def.retry?.count ?? 0)) this.scheduleRetry(row, def, values);
  }

  /** Rundeck retry: a new execution (attempt + 1) after the job's retry delay, unless draining. */
  scheduleRetry(row: RetrySource, def: JobDefinition, values: Record<string, string>): void {
    const t = setTimeout(async () => {
      this.retryTimers.delete(t);
      if (!this.accepting) return;
      try {
        const created = await withTransaction(this.o.pool, async (c) => {
          await assertWritable(c);
          return createExecution(c, {
            job: { projectId: row.projectId, jobId: row.jobId, name: row.jobName, group: row.jobGroup, definition: def },
            options: values,
            trigger: 'retry',
            user: row.userName,
            roles: row.userRoles,
            member: this.o.member,
            attempt: row.attempt + 1,
            retryOf: row.retryOf ?? row.id,
          });
        });
        this.o.log.info('retrying execution', { executionId: row.id, retry: created.id, attempt: row.attempt + 1 });
        void this.start(created.id, created.values);
      } catch (e) {
        this.o.log.error('cannot retry execution', { executionId: row.id, error: e });
      }
    }, def.retry.delayMs);
    this.retryTimers.add(t);
  }

  private emailContext(row: ExecutionRow, status: string): EmailContext {
    return {
      executionId: row.id,
      project: row.project,
      job: { id: row.jobId, name: row.jobName, group: row.jobGroup },
      status,
      user: row.userName,
      attempt: row.attempt,
    };
  }

  /** The sealed log as text (`time [LEVEL] step: text`), for e-mail attachments; secure values are masked in it already. */
  private async logText(key: string): Promise<string> {
    const lines: string[] = [];
    let offset = 0;
    for (let total = 0; total < 5 * 1024 * 1024; ) {
      const r = await this.o.store.read(key, offset, { maxBytes: 1024 * 1024 });
      for (const e of r.entries) {
        const line = `${e.time} [${e.level}]${e.step ? ` ${e.step}:` : ''} ${e.text}`;
        lines.push(line);
        total += line.length + 1;
      }
      if (r.complete || r.nextOffset === offset) break;
      offset = r.nextOffset;
    }
    return lines.join('\n') + '\n';
  }

  private payload(row: ExecutionRow, status: ExecutionStatus): Record<string, unknown> {
    return { id: row.id, project: row.project, job: { id: row.jobId, name: row.jobName, group: row.jobGroup }, status, attempt: row.attempt, user: row.userName };
  }

  /**
   * SIGTERM: accept nothing new, give running executions `timeoutMs` to
   * finish, then abort the rest (they are closed as aborted with a reason).
   */
  async drain(timeoutMs: number): Promise<void> {
    this.accepting = false;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      all().then(() => false),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
    ]);
    if (timer) clearTimeout(timer);
    if (timedOut) {
      this.o.log.warn('drain timeout: aborting executions still running', { executions: this.runningIds() });
      for (const r of this.running.values()) this.stop(r, 'aborted', 'server shutdown (drain timeout)');
      await all();
    }
    await this.close();
  }

  async close(): Promise<void> {
    this.accepting = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
  }
}

export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
