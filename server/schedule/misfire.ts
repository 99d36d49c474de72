/**
 * Which firing of a schedule to act on at a tick, and how (the misfire policy).
 *
 * The scheduler resumes each job from its last recorded firing (or from when
 * the job was last saved, for a new or re-enabled schedule). At each tick
 * the fire times in (resume point, now] are due:
 *
 * - Only the latest due time is acted on; earlier ones (the scheduler was
 *   down, or the database unreachable) are *missed* and collapsed into it,
 *   so a long outage never releases a burst of runs.
 * - If the latest due time is at most `graceMs` old, it runs normally.
 * - Otherwise it is a misfire: policy `runOnce` (the default, like Quartz's
 *   "fire once now" that Rundeck uses) runs it once now; policy `skip`
 *   records it as `skipped_misfire` and waits for the next fire time.
 */
export type MisfirePolicy = 'runOnce' | 'skip';

export interface FiringDecision {
  scheduledTime: Date;
  run: boolean;
  /** Number of earlier due fire times collapsed into this one. */
  missed: number;
  misfire: boolean;
  message: string | null;
}

/** `latest`: the latest due fire time (null: nothing due); `missed`: how many earlier ones were due too. */
export function decideFiring(latest: Date | null, missed: number, now: Date, graceMs: number, policy: MisfirePolicy): FiringDecision | null {
  if (!latest) return null;
  const lateMs = now.getTime() - latest.getTime();
  const misfire = lateMs > graceMs;
  const run = !misfire || policy === 'runOnce';
  const parts: string[] = [];
  if (missed) parts.push(`${missed} earlier firing(s) missed`);
  if (misfire) parts.push(`${Math.round(lateMs / 1000)} s late (grace ${Math.round(graceMs / 1000)} s): ${run ? 'run once now' : 'skipped'}`);
  return { scheduledTime: latest, run, missed, misfire, message: parts.length ? parts.join('; ') : null };
}
