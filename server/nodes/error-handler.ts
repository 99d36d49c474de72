/**
 * Rundeck's per-step `errorhandler`: a step (`exec`, `script` or `jobref`)
 * kept in the step's `extra.errorhandler` at import, read when the step
 * fails. `keepgoingOnSuccess: true` lets the workflow go on when the handler
 * succeeds. The handler sees `${result.reason}`, `${result.message}` and
 * `${result.resultCode}` (RD_RESULT_* in its environment).
 */
import { TandemError } from '../errors.js';
import type { Step } from '../jobs/definition.js';
import { readJobs, isRecord } from '../jobs/rundeck-read.js';

export interface ErrorHandler {
  step: Step;
  keepgoingOnSuccess: boolean;
}

/** Validates an `errorhandler` mapping with the job reader's step rules (import time and run time alike). */
export function readErrorHandler(raw: unknown, field: string): ErrorHandler {
  if (!isRecord(raw)) throw new TandemError('validation_failed', `${field}: must be a mapping with exec, script or jobref`, { field });
  const { keepgoingOnSuccess, ...stepRaw } = raw;
  let step: Step;
  try {
    step = readJobs({ name: 'errorhandler', sequence: { commands: [stepRaw] } }).jobs[0]!.sequence.steps[0]!;
  } catch (e) {
    const m = (e as Error).message.replace(/^jobs\[0\]\.sequence\.commands\[0\]/, field);
    throw new TandemError('validation_failed', m, { field });
  }
  const k = keepgoingOnSuccess;
  if (k !== undefined && k !== null && typeof k !== 'boolean' && k !== 'true' && k !== 'false') {
    throw new TandemError('validation_failed', `${field}.keepgoingOnSuccess: must be true or false`, { field: `${field}.keepgoingOnSuccess` });
  }
  return { step, keepgoingOnSuccess: k === true || k === 'true' };
}

/** The error handler of a step, or null. */
export function errorHandlerOf(step: Step, id: string): ErrorHandler | null {
  const raw = step.extra.errorhandler;
  if (raw === undefined || raw === null) return null;
  return readErrorHandler(raw, `step ${id}.errorhandler`);
}

/** `${result.*}` for a failed step (Rundeck's failure reasons). */
export function resultContext(r: { failure?: string; exitCode?: number | null }): Record<string, string> {
  const code = r.exitCode;
  return {
    reason: typeof code === 'number' && code !== 0 ? 'NonZeroResultCode' : 'Failed',
    message: typeof code === 'number' ? `Result code was ${code}` : (r.failure ?? 'failed'),
    resultCode: typeof code === 'number' ? String(code) : '',
  };
}
