/**
 * Where a step's command runs. This issue has only the local executor
 * (`local-executor.ts`); remote node executors (SSH, agents) implement the
 * same interface later, so the engine never spawns processes itself.
 */
import type { Readable } from 'node:stream';

/** A command ready to run on one node: already expanded, with its environment. */
export type StepCommand =
  | { kind: 'shell'; node: string; command: string; env: Record<string, string> }
  | { kind: 'script'; node: string; script: string; args: string; interpreter?: string; env: Record<string, string> };

export interface StepExit {
  /** Exit status, or null when the process was ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface StepProcess {
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves when the step has ended and its output streams are closed. */
  readonly exited: Promise<StepExit>;
  /** Stop the whole process tree of the step: a polite signal, then SIGKILL after the grace period. */
  kill(): void;
}

export interface Executor {
  readonly kind: string;
  start(cmd: StepCommand): Promise<StepProcess>;
  /** Remove temporary files and stop anything still running (server shutdown). */
  close(): Promise<void>;
}
