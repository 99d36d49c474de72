/**
 * `tandem replicate` runs under Linux's SCHED_BATCH policy (replication.scheduling,
 * default batch): the same CPU share as any process at its nice value, but a
 * wake-up of the replicator never preempts a process that is running.
 *
 * Why: the replicator is the middle of a pipeline, source walsender → replicator →
 * target backend, and on a host it shares with either database it is woken every
 * time the walsender sends. Under the normal policy the woken replicator preempts
 * the walsender at once, reads the little that has arrived, and sleeps again: in
 * 200,000-row catch-ups on two cores the walsender was preempted up to 4,047 times
 * (at most 246 with PostgreSQL's own apply worker, which is busy rather than woken)
 * and spent 290–430 ms of CPU against 260–310. Under SCHED_BATCH the replicator
 * waits for a free core or the end of the running slice (milliseconds), reads more
 * per wake-up, and the walsender runs its slice out: 40–78 preemptions, and the
 * benchmark's bulk ratio 1.22–1.34 × native against 1.19–1.20 before. Measured
 * in replicator/docs/performance.md, "Scheduling: the replicator does not
 * preempt the walsender".
 *
 * Set with util-linux's `chrt` on every thread of this process (there is no Node
 * API for sched_setscheduler). Switching between the normal policy and SCHED_BATCH
 * needs no privilege (tried as an unprivileged user both ways). Where it cannot be
 * set (not Linux, no chrt), the replicator runs under the normal policy and says so
 * in its log.
 */
import { execFile } from 'node:child_process';

export type Scheduling = 'batch' | 'normal';

export type SchedulingOutcome = { policy: Scheduling } | { policy: 'normal'; wanted: 'batch'; reason: string };

/** chrt is fork and exec of a small binary: a few ms; a machine that takes this long has other problems. */
const CHRT_TIMEOUT_MS = 5000;

/**
 * `tandem replicate`'s policy: with `batch`, every thread of this process is put
 * under SCHED_BATCH; `normal` leaves the policy the process was started with.
 * Awaited before the replicator starts, so the threads it creates inherit it.
 */
export async function applyScheduling(wanted: Scheduling): Promise<SchedulingOutcome> {
  if (wanted === 'normal') return { policy: 'normal' };
  const failed = await setPolicy('batch');
  return failed === null ? { policy: 'batch' } : { policy: 'normal', wanted, reason: failed };
}

/**
 * Put every thread of `pid` under SCHED_BATCH, or back under the normal policy
 * (SCHED_OTHER: the benchmark, which runs the replicator in its own process, does
 * so around each timed catch-up). Resolves with null, or why it could not.
 */
export function setPolicy(policy: 'batch' | 'other', pid = process.pid): Promise<string | null> {
  if (process.platform !== 'linux') return Promise.resolve(`SCHED_BATCH is a Linux policy (this is ${process.platform})`);
  return new Promise((resolve) => {
    // Only PATH: chrt needs nothing else from the environment (and gets no secret from it).
    execFile('chrt', ['--all-tasks', `--${policy}`, '--pid', '0', String(pid)], { timeout: CHRT_TIMEOUT_MS, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, (err, _stdout, stderr) => {
      if (!err) return resolve(null);
      resolve((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'chrt (util-linux) is not installed' : stderr.trim() || err.message);
    });
  });
}
