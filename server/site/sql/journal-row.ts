/**
 * The failover journal (tandem_site.failover_journal on the target site):
 * which run is in progress, its finished steps, and what a re-run needs
 * (drain point id and LSN, the new epoch). Its row as the statements on it
 * (the *-journal*.ts files here) read and return it.
 */
export type FailoverKind = 'switchover' | 'forced';
export type JournalState = 'running' | 'done' | 'undone' | 'failed';

export interface JournalStep {
  step: string;
  ms: number;
  at: string;
  detail?: string;
}

export interface JournalRow {
  id: string;
  kind: FailoverKind;
  fromSite: string;
  toSite: string;
  state: JournalState;
  steps: JournalStep[];
  drainLsn: string | null;
  appliedLsn: string | null;
  appliedCommitTime: Date | null;
  newEpoch: number | null;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

export const JOURNAL_COLUMNS = `id, kind, from_site, to_site, state, steps, drain_lsn::text as drain_lsn, applied_lsn::text as applied_lsn,
                 applied_commit_time, new_epoch::text as new_epoch, error, started_at, finished_at`;

export function toJournalRow(r: Record<string, unknown>): JournalRow {
  return {
    id: r.id as string,
    kind: r.kind as FailoverKind,
    fromSite: r.from_site as string,
    toSite: r.to_site as string,
    state: r.state as JournalState,
    steps: r.steps as JournalStep[],
    drainLsn: r.drain_lsn as string | null,
    appliedLsn: r.applied_lsn as string | null,
    appliedCommitTime: r.applied_commit_time as Date | null,
    newEpoch: r.new_epoch === null ? null : Number(r.new_epoch),
    error: r.error as string | null,
    startedAt: r.started_at as Date,
    finishedAt: r.finished_at as Date | null,
  };
}
