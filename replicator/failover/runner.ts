/**
 * Runs the numbered steps of a failover: prints each one as it starts and
 * ends with its duration, records finished steps in the journal, stops
 * between steps when the user interrupts (Ctrl-C), and offers tests a
 * failpoint after any step (to prove a re-run completes the switch).
 */
import { EXIT_CODES, TandemError } from '../../server/errors.js';
import type { Db } from '../../server/db/db.js';
import { journalStep } from '../../server/site/sql/journal-step.js';

export interface StepOutcome {
  /** One line saying what the step did (printed after its duration). */
  detail: string;
}

export interface StepRecord {
  step: string;
  ms: number;
  detail: string;
}

export class FailpointError extends Error {
  constructor(readonly step: string) {
    super(`failpoint after step "${step}"`);
    this.name = 'FailpointError';
  }
}

/** `[i/n]`: a step's place in its list and the list's length (the progress prefix of every step line). */
export function stepLabel<S extends string>(steps: readonly S[], step: S): string {
  return `[${steps.indexOf(step) + 1}/${steps.length}]`;
}

/**
 * Runs the steps of one list (SWITCHOVER_STEPS, FORCED_STEPS, ...): a step's
 * name must be in it, and its number and the total printed come from it.
 */
export class StepRunner<S extends string = string> {
  readonly done: StepRecord[] = [];
  journal: { db: Db; id: string } | null = null;

  constructor(
    private readonly o: {
      /** The steps this run may take, in order (the total printed is their number). */
      steps: readonly S[];
      out: (line: string) => void;
      signal?: AbortSignal;
      /** Throw FailpointError right after this step finished (tests). */
      failAfter?: string;
      /** Printed when interrupted: how to go on. */
      resumeHint: string;
    },
  ) {}

  async step(name: S, fn: () => Promise<StepOutcome>): Promise<void> {
    this.interruptedCheck(name);
    const label = stepLabel(this.o.steps, name);
    this.o.out(`${label} ${name} ...`);
    const t0 = performance.now();
    const r = await fn();
    const ms = Math.round(performance.now() - t0);
    this.o.out(`${label} ${name}: ${r.detail} (${(ms / 1000).toFixed(2)} s)`);
    this.done.push({ step: name, ms, detail: r.detail });
    if (this.journal) await journalStep(this.journal.db, this.journal.id, { step: name, ms, at: new Date().toISOString(), detail: r.detail });
    if (this.o.failAfter === name) throw new FailpointError(name);
  }

  /** A step that is already done (found so on a re-run): printed, not run. */
  skip(name: S, why: string): void {
    this.o.out(`${stepLabel(this.o.steps, name)} ${name}: already done (${why})`);
  }

  interruptedCheck(before: string): void {
    if (this.o.signal?.aborted) {
      throw new TandemError('unavailable', `interrupted before "${before}". ${this.o.resumeHint}`, { exitCode: EXIT_CODES.interrupted });
    }
  }

  /** Poll `cond` until true, printing `progress()` every few seconds; throws after `timeoutMs`. */
  async waitUntil(what: string, cond: () => Promise<boolean>, timeoutMs: number, progress?: () => Promise<string>, everyMs = 50): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let nextReport = Date.now() + 2000;
    for (;;) {
      if (await cond()) return;
      this.interruptedCheck(what);
      if (Date.now() > deadline) throw new TandemError('unavailable', `timed out after ${(timeoutMs / 1000).toFixed(0)} s waiting for ${what}. ${this.o.resumeHint}`);
      if (progress && Date.now() >= nextReport) {
        this.o.out(`      ... ${await progress()}`);
        nextReport = Date.now() + 2000;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }
}
