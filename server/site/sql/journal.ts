/**
 * The failover journal (tandem_site.failover_journal on the target site):
 * which run is in progress, its finished steps, and what a re-run needs
 * (drain point id and LSN, the new epoch).
 */
import type { Db } from '../../db/db.js';

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

const COLUMNS = `id, kind, from_site, to_site, state, steps, drain_lsn::text as drain_lsn, applied_lsn::text as applied_lsn,
                 applied_commit_time, new_epoch::text as new_epoch, error, started_at, finished_at`;

function toRow(r: Record<string, unknown>): JournalRow {
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

export async function getRunningJournal(db: Db): Promise<JournalRow | null> {
  const { rows } = await db.query({ name: 'tandem_site.getRunningJournal', text: `select ${COLUMNS} from tandem_site.failover_journal where state = 'running'` });
  return rows[0] ? toRow(rows[0]) : null;
}

export async function startJournal(db: Db, j: { kind: FailoverKind; fromSite: string; toSite: string }): Promise<JournalRow> {
  const { rows } = await db.query({
    name: 'tandem_site.startJournal',
    text: `insert into tandem_site.failover_journal (kind, from_site, to_site) values ($1, $2, $3) returning ${COLUMNS}`,
    values: [j.kind, j.fromSite, j.toSite],
  });
  return toRow(rows[0]);
}

export async function journalStep(db: Db, id: string, s: JournalStep): Promise<void> {
  await db.query({
    name: 'tandem_site.journalStep',
    text: `update tandem_site.failover_journal set steps = steps || jsonb_build_array($2::jsonb) where id = $1`,
    values: [id, JSON.stringify(s)],
  });
}

export async function setJournalFields(
  db: Db,
  id: string,
  f: { drainLsn?: string; appliedLsn?: string; appliedCommitTime?: Date | null; newEpoch?: number },
): Promise<void> {
  await db.query({
    name: 'tandem_site.setJournalFields',
    text: `update tandem_site.failover_journal
              set drain_lsn = coalesce($2::pg_lsn, drain_lsn), applied_lsn = coalesce($3::pg_lsn, applied_lsn),
                  applied_commit_time = coalesce($4::timestamptz, applied_commit_time), new_epoch = coalesce($5::bigint, new_epoch)
            where id = $1`,
    values: [id, f.drainLsn ?? null, f.appliedLsn ?? null, f.appliedCommitTime ?? null, f.newEpoch ?? null],
  });
}

export async function finishJournal(db: Db, id: string, state: Exclude<JournalState, 'running'>, error: string | null = null): Promise<void> {
  await db.query({
    name: 'tandem_site.finishJournal',
    text: `update tandem_site.failover_journal set state = $2, error = $3, finished_at = now() where id = $1`,
    values: [id, state, error],
  });
}
