/**
 * Drain of the source site during a planned switchover: the site is already
 * `draining` (no new firings or executions: guard.ts). Queued executions are
 * closed at once; running ones get the drain timeout to finish, then their
 * members are asked to abort them (they kill the steps and record the end,
 * which a draining site still allows); whatever no member recorded after a
 * grace period is closed as aborted here, with the reason.
 */
import type pg from 'pg';
import { EXIT_CODES } from '../../server/errors.js';
import { abortQueued, closeRunning, countUnfinished, requestAbortRunning } from '../../server/site/sql/drain-executions.js';
import type { StepRunner } from './runner.js';

export interface DrainResult {
  queuedClosed: number;
  abortRequested: number;
  forceClosed: number;
}

export async function drainExecutions(
  source: pg.ClientBase,
  runner: StepRunner,
  o: { drainTimeoutMs: number; abortGraceMs: number; siteName: string; out: (line: string) => void },
): Promise<DrainResult> {
  const queued = await abortQueued(source, `aborted: site ${o.siteName} is draining for a switchover`);
  if (queued.length) o.out(`      closed ${queued.length} queued execution(s) that had not started`);
  let running = (await countUnfinished(source)).running;
  if (running) o.out(`      waiting up to ${(o.drainTimeoutMs / 1000).toFixed(0)} s for ${running} running execution(s) to finish`);
  const idle = async () => (await countUnfinished(source)).running === 0;
  const progress = async () => `${(await countUnfinished(source)).running} execution(s) still running`;
  try {
    await runner.waitUntil('running executions to finish', idle, o.drainTimeoutMs, progress, 200);
    return { queuedClosed: queued.length, abortRequested: 0, forceClosed: 0 };
  } catch (e) {
    if (!(await countUnfinished(source)).running) return { queuedClosed: queued.length, abortRequested: 0, forceClosed: 0 };
    if ((e as { exitCode?: number }).exitCode === EXIT_CODES.interrupted) throw e; // interrupted by the user, not a timeout
  }
  const asked = await requestAbortRunning(source, 'switchover (drain timeout)');
  o.out(`      drain timeout: asked the members to abort ${asked.length} execution(s)`);
  try {
    await runner.waitUntil('aborted executions to be recorded', idle, o.abortGraceMs, progress, 200);
    return { queuedClosed: queued.length, abortRequested: asked.length, forceClosed: 0 };
  } catch (e) {
    if ((e as { exitCode?: number }).exitCode === EXIT_CODES.interrupted) throw e;
  }
  const closed = await closeRunning(source, 'aborted: the switchover drain timed out and the member did not record the end');
  running = closed.length;
  o.out(`      closed ${running} execution(s) whose member did not answer the abort`);
  return { queuedClosed: queued.length, abortRequested: asked.length, forceClosed: closed.length };
}
