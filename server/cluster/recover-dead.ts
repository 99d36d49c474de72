/**
 * Recovery of a dead member's work, run by every live member on each
 * heartbeat tick. Exactly one survivor recovers a given dead incarnation:
 * the one whose transaction locks its row (`for update skip locked`,
 * sql/claim-dead-member.ts). In that transaction the incarnation is declared
 * lost (from the commit on its late writes are refused: sql/fence.ts) and its
 * running executions, and the queued ones it had taken for itself, are closed
 * as failed with "member NAME lost" and their running step results closed.
 * After the commit the logs are sealed as restart recovery seals them, and
 * jobs with `retry` get their next attempt on this (live) member.
 *
 * Durability order: declared lost + executions closed commit together before
 * any log is sealed or any retry is created, so a retry can never overlap a
 * still-recorded-running original, and a survivor dying half-way leaves
 * closed executions (at worst with an unsealed log, which readers show as it
 * is) rather than running ones.
 */
import type pg from 'pg';
import type { JobDefinition } from '../jobs/definition.js';
import type { Logger } from '../log.js';
import type { LogStore } from '../logs/store.js';
import type { ExecutionEngine } from '../executions/engine.js';
import { MASK } from '../executions/create.js';
import { sealInterruptedLogs } from '../executions/recovery.js';
import { canWrite } from '../site/guard.js';
import { closeStepResults } from '../executions/sql/close-step-results.js';
import { withTransaction } from '../db/tx.js';
import { claimDeadMember } from './sql/claim-dead-member.js';
import { closeLostExecutions, type LostExecution } from './sql/close-lost-executions.js';

export function lostReason(member: string): string {
  return `member ${member} lost`;
}

export interface RecoveryDeps {
  pool: pg.Pool;
  store: LogStore;
  log: Logger;
  engine: ExecutionEngine;
  member: string;
  deadAfterMs: number;
  /** Counts the executions closed here. */
  closed?(n: number): void;
}

/** Recover every dead member found now; returns the names recovered. */
export async function recoverDeadMembers(d: RecoveryDeps): Promise<string[]> {
  const recovered: string[] = [];
  for (;;) {
    const got = await withTransaction(d.pool, async (c) => {
      // Executions are replicated data: only the active site (or a draining one) closes them.
      if (!(await canWrite(c, 'finish'))) return null;
      const dead = await claimDeadMember(c, d.member, d.deadAfterMs);
      if (!dead) return null;
      const reason = lostReason(dead.name);
      const rows = await closeLostExecutions(c, dead.name, reason);
      if (rows.length) await closeStepResults(c, rows.map((r) => r.id), `${reason} during this step`);
      return { dead, reason, rows };
    });
    if (!got) return recovered;
    const { dead, reason, rows } = got;
    recovered.push(dead.name);
    d.closed?.(rows.length);
    d.log.warn('recovered the executions of a dead member', { dead: dead.name, generation: dead.generation, closed: rows.map((r) => r.id) });
    await sealInterruptedLogs(d, rows, reason);
    for (const row of rows) retryLost(d, row);
  }
}

/** The job's `retry`, as the engine applies it when an execution fails here. */
function retryLost(d: RecoveryDeps, row: LostExecution): void {
  const def = row.definition as JobDefinition;
  if (row.attempt > (def.retry?.count ?? 0)) return;
  const values = row.options ?? {};
  if (Object.values(values).includes(MASK) && def.options.some((o) => o.secure && values[o.name] === MASK)) {
    // Secure option values live only in the memory of the member that took the request: they died with it.
    d.log.warn('not retrying an execution of a lost member: its secure option values were lost with it', { executionId: row.id });
    return;
  }
  d.engine.scheduleRetry({ ...row }, def, values);
}
