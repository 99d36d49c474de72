/**
 * This member in its site's cluster: registers an incarnation (a new
 * generation) at start, writes a heartbeat every `cluster.heartbeatInterval`
 * (which also brings back the member's and the site's execution mode), looks
 * for dead members to recover on the same tick, and notices when its own
 * incarnation was declared dead (the heartbeat finds no row): then it tells
 * the engine to kill the steps of the executions that were taken from it,
 * and joins again under a new generation.
 *
 * The lease: a write for an execution of generation G is let through at once
 * while the last heartbeat of G was acknowledged less than
 * `deadAfter - heartbeatInterval` ago (the database cannot have declared G
 * dead yet: it waits `deadAfter` after that heartbeat, on its own clock);
 * otherwise a heartbeat is sent first (`confirm`). After a long pause
 * (SIGSTOP, GC, partition) the first write therefore finds out whether G was
 * fenced before it writes. The execution statements themselves also check G
 * (sql/fence.ts); the lease is what guards the statements that do not (step
 * results).
 */
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import { TandemError } from '../errors.js';
import type { Logger } from '../log.js';
import { withSiteLocalWrite } from '../auth/sql/transaction.js';
import { heartbeatMember } from './sql/heartbeat-member.js';
import { registerMember, type MemberRegistration } from './sql/register-member.js';
import { stopMember } from './sql/stop-member.js';
import type { ExecutionMode } from './states.js';
import { SQLSTATE, sqlstateOf } from '../db/sqlstate.js';

export interface MembershipOptions {
  pool: pg.Pool;
  log: Logger;
  registration: MemberRegistration;
  heartbeatIntervalMs: number;
  deadAfterMs: number;
  /** Executions running here now (written with each heartbeat). */
  running(): number;
  /** Whether this member's scheduler loop runs (shown in the Cluster Manager). */
  schedulerOn(): boolean;
  /** The incarnation `generation` was declared dead: kill what it still runs (its executions were closed elsewhere). */
  onFenced(generation: number): void;
  /** Called after each heartbeat (recovery of dead members, hand-overs). */
  onTick?(): Promise<void>;
}

/** A passive site's database defaults to read-only transactions: these site-local writes say read write. */
function isReadOnlyTx(e: unknown): boolean {
  return sqlstateOf(e) === SQLSTATE.READ_ONLY_SQL_TRANSACTION;
}

async function siteLocal<T>(pool: pg.Pool, fn: (db: pg.Pool | pg.PoolClient) => Promise<T>): Promise<T> {
  try {
    return await fn(pool);
  } catch (e) {
    if (!isReadOnlyTx(e)) throw e;
    return withSiteLocalWrite(pool, (c) => fn(c));
  }
}

export class Membership {
  private gen: number | null = null;
  private lastAck = 0;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | null = null;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;
  private memberMode: ExecutionMode = 'active';
  private siteMode: ExecutionMode = 'active';

  constructor(private readonly o: MembershipOptions) {}

  get name(): string {
    return this.o.registration.name;
  }

  /** The current incarnation's generation (null before `start`). */
  generation(): number | null {
    return this.gen;
  }

  /** This member's own execution mode as of its last heartbeat. */
  get memberExecutionMode(): ExecutionMode {
    return this.memberMode;
  }

  /** False when this member, or the whole site, is in execution mode passive: no new executions, no schedules. */
  get executionsEnabled(): boolean {
    return this.memberMode === 'active' && this.siteMode === 'active';
  }

  async start(): Promise<void> {
    await this.join();
    const loop = () => {
      if (this.stopped) return;
      this.ticking = this.tick().finally(() => {
        if (!this.stopped) this.timer = setTimeout(loop, this.o.heartbeatIntervalMs);
      });
    };
    this.timer = setTimeout(loop, this.o.heartbeatIntervalMs);
  }

  private async join(): Promise<void> {
    const sent = performance.now();
    const { generation } = await siteLocal(this.o.pool, (db) => registerMember(db, this.o.registration));
    this.gen = generation;
    this.lastAck = sent;
    this.o.log.info('joined the cluster', { member: this.name, generation });
  }

  private async tick(): Promise<void> {
    try {
      await this.beat();
    } catch (e) {
      this.o.log.warn('heartbeat failed', { error: e });
      return;
    }
    try {
      await this.o.onTick?.();
    } catch (e) {
      this.o.log.error('cluster duties failed', { error: e });
    }
  }

  /** One heartbeat (shared by concurrent callers). */
  private beat(): Promise<void> {
    return (this.beating ??= this.beatOnce().finally(() => (this.beating = null)));
  }

  private async beatOnce(): Promise<void> {
    const gen = this.gen;
    if (gen === null || this.stopped) return;
    const sent = performance.now();
    const r = await siteLocal(this.o.pool, (db) =>
      heartbeatMember(db, { name: this.name, generation: gen, running: this.o.running(), scheduler: this.o.schedulerOn() }),
    );
    if (r) {
      this.lastAck = sent;
      this.memberMode = r.memberMode;
      this.siteMode = r.siteMode;
      return;
    }
    if (this.stopped || this.gen !== gen) return;
    // Declared dead by another member, which closed our executions: whatever still runs under `gen` must stop and write nothing.
    this.o.log.error('this member was declared dead and its executions recovered by another member: killing what it still ran, joining again', {
      member: this.name,
      generation: gen,
    });
    this.gen = null;
    this.o.onFenced(gen);
    await this.join();
  }

  /**
   * Write a heartbeat now instead of at the next tick: what it carries changed
   * (the scheduler started or stopped with the site's role), and the Cluster
   * Manager shows it at once rather than up to one heartbeat interval later.
   * A heartbeat already on its way may have read the old state: this one
   * follows it.
   */
  reportNow(): void {
    if (this.stopped || this.gen === null) return;
    const after = this.beating ?? Promise.resolve();
    void after
      .catch(() => undefined) // that heartbeat's failure is its caller's to report
      .then(() => this.beat())
      .catch((e: unknown) => this.o.log.warn('heartbeat failed', { error: e }));
  }

  /**
   * Resolves when generation `gen` may still write (within the lease, or
   * confirmed by a heartbeat now); throws `member_fenced` otherwise.
   */
  async confirm(gen: number): Promise<void> {
    const margin = this.o.deadAfterMs - this.o.heartbeatIntervalMs;
    if (this.gen === gen && performance.now() - this.lastAck < margin) return;
    if (this.gen === gen) await this.beat();
    if (this.gen !== gen || performance.now() - this.lastAck >= margin) {
      throw new TandemError('member_fenced', `member ${this.name} generation ${gen} was declared dead; its executions were recovered by another member`);
    }
  }

  /** Clean leave (after the drain): `stopped`, nothing for the others to recover. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    const gen = this.gen;
    if (gen === null) return;
    await siteLocal(this.o.pool, (db) => stopMember(db, { name: this.name, generation: gen })).catch((e) =>
      this.o.log.warn('cannot record that this member stopped', { error: e }),
    );
  }
}
