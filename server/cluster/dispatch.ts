/**
 * Hand-over of executions between the members of a site, through the
 * database (README.md, "Remote execution"):
 *
 * - the member that takes a run (or fires a schedule) asks `choose` which
 *   member runs it (policy.ts); when it is another one, it inserts the
 *   execution `queued` with that member's name and records the hand-over,
 *   whose pg_notify wakes the chosen member at commit (LISTEN
 *   tandem_handover); every member also looks for executions handed to it
 *   on each heartbeat tick (the fallback when a notification is missed);
 * - the chosen member starts it like any queued execution: marking it
 *   running requires `status = 'queued' and member = <itself>`;
 * - a hand-over not started within `cluster.handoverTimeout` is given to
 *   another member by whichever member locks it first, with
 *   `status = 'queued' and member = <the old one>`. The start and the move
 *   update the same row under its lock: exactly one of them happens, so an
 *   execution never runs on two members.
 *
 * Secure option values exist only in the memory of the member that took the
 * request (never stored in clear), so executions with secure options run
 * where they were taken.
 */
import pg from 'pg';
import type { Config } from '../config/schema.js';
import { TandemError } from '../errors.js';
import type { ExecutionEngine } from '../executions/engine.js';
import type { JobDefinition } from '../jobs/definition.js';
import type { Logger } from '../log.js';
import { canWrite } from '../site/guard.js';
import { withTransaction } from '../db/tx.js';
import type { Membership } from './membership.js';
import { MemberChooser, policyFor } from './policy.js';
import { listQueuedFor, lockStaleHandovers, moveQueuedExecution, recordHandover } from './sql/handovers.js';
import { listCandidates } from './sql/list-candidates.js';

export const HANDOVER_CHANNEL = 'tandem_handover';

export interface DispatcherOptions {
  pool: pg.Pool;
  config: Config;
  log: Logger;
  engine: ExecutionEngine;
  membership: Membership;
}

export class Dispatcher {
  private readonly chooser: MemberChooser;
  private listener: pg.Client | null = null;
  private picking: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(private readonly o: DispatcherOptions) {
    this.chooser = new MemberChooser(o.engine.member);
  }

  private get self(): string {
    return this.o.engine.member;
  }

  /**
   * The member that runs an execution of `def` in `project`: this member
   * for policy none (refused while it is disabled), otherwise one chosen
   * among the candidates (refused when there is none).
   */
  async choose(project: string, def: JobDefinition): Promise<string> {
    const spec = policyFor(this.o.config, project);
    const local = spec.policy === 'none' || def.options.some((opt) => opt.secure);
    if (local) {
      if (!this.o.membership.executionsEnabled) {
        throw new TandemError('unavailable', `executions are disabled on member ${this.self} (execution mode passive); send the run to another member`);
      }
      return this.self;
    }
    const target = this.chooser.choose(spec, await listCandidates(this.o.pool, this.o.config.cluster.inactiveAfter));
    if (!target) {
      throw new TandemError('unavailable', `no cluster member may run executions of project ${project} now (remote execution policy ${spec.policy})`);
    }
    return target;
  }

  /** Record the hand-over of a just-created queued execution (wakes `member` once committed). */
  async handedOver(db: pg.Pool | pg.PoolClient, executionId: string, member: string): Promise<void> {
    await recordHandover(db, executionId, member);
  }

  /** LISTEN for hand-overs (the heartbeat tick is the fallback when this connection is down). */
  async start(): Promise<void> {
    await this.listen().catch((e) => this.o.log.warn('cannot LISTEN for hand-overs; polling on each heartbeat', { error: e }));
    this.pickUp();
  }

  private async listen(): Promise<void> {
    if (this.closed || this.listener) return;
    const c = new pg.Client({ connectionString: this.o.config.database.url, application_name: 'tandem-handover' });
    c.on('error', (e) => {
      this.o.log.warn('hand-over listener connection failed; polling until it is back', { error: e });
      if (this.listener === c) this.listener = null;
      void c.end().catch(() => undefined);
    });
    c.on('notification', (n) => {
      if (n.channel === HANDOVER_CHANNEL && n.payload === this.self) this.pickUp();
    });
    await c.connect();
    await c.query(`listen ${HANDOVER_CHANNEL}`);
    this.listener = c;
  }

  /** Start what was handed to this member (coalesced: one pass at a time, one more if asked meanwhile). */
  pickUp(): void {
    if (this.picking) {
      this.again = true;
      return;
    }
    this.picking = this.pickUpOnce()
      .catch((e) => this.o.log.warn('cannot look for executions handed to this member', { error: e }))
      .finally(() => {
        this.picking = null;
        if (this.again) {
          this.again = false;
          this.pickUp();
        }
      });
  }

  private async pickUpOnce(): Promise<void> {
    if (this.closed || !this.o.engine.isAccepting || !this.o.membership.executionsEnabled) return;
    const running = new Set(this.o.engine.runningIds());
    for (const e of await listQueuedFor(this.o.pool, this.self)) {
      if (running.has(e.id)) continue;
      // Resolves once it is running here, or once another member got it first (the start then writes nothing).
      void this.o.engine.start(e.id, e.options);
    }
  }

  /** Each heartbeat tick: reconnect the listener, pick up (fallback), and re-hand what was not started in time. */
  async tick(): Promise<void> {
    if (this.closed) return;
    if (!this.listener) await this.listen().catch(() => undefined);
    this.pickUp();
    const moved = await withTransaction(this.o.pool, async (c) => {
      if (!(await canWrite(c))) return [];
      const out: { id: string; from: string; to: string }[] = [];
      const stale = await lockStaleHandovers(c, this.o.config.cluster.handoverTimeout);
      if (!stale.length) return out;
      const candidates = await listCandidates(c, this.o.config.cluster.inactiveAfter);
      for (const h of stale) {
        const to = this.chooser.choose(policyFor(this.o.config, h.project), candidates, [h.member]);
        if (!to || to === h.member) continue;
        if (!(await moveQueuedExecution(c, h.executionId, h.member, to))) continue;
        await recordHandover(c, h.executionId, to);
        out.push({ id: h.executionId, from: h.member, to });
      }
      return out;
    });
    for (const m of moved) this.o.log.warn('execution not started in time by the member it was handed to: handed to another', m);
  }

  async stop(): Promise<void> {
    this.closed = true;
    await this.picking;
    const c = this.listener;
    this.listener = null;
    await c?.end().catch(() => undefined);
  }
}
