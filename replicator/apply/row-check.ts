/**
 * Row counts checked on the target, so that a group's `commit` can travel in
 * the same round trip as its last statements (statement-queue.ts,
 * `sendWithCommit`; replicator/docs/performance.md, "One round trip per group").
 *
 * An UPDATE or DELETE of a replicated change must find its row; finding none
 * means the target diverged, and the group must not commit. Checked in Node,
 * that needs the statement's reply before `commit` may be sent: two round
 * trips per group, and under load each is a wake-up of this process and of
 * the target backend. Checked on the target instead, a statement that finds
 * fewer rows raises an error there, the server skips the rest of the pipeline
 * (the `commit` included) and the transaction stays aborted: nothing of the
 * group is committed, exactly as when the check ran in Node.
 *
 * The check is a function in the session's temporary schema (gone with the
 * session, nothing to migrate on the target), in PL/pgSQL (SQL functions
 * cannot raise an error). A role without the TEMPORARY privilege on the
 * target database cannot create it, nor can anyone where plpgsql was dropped:
 * then the applier checks in Node and sends `commit` after the reply.
 */
import type pg from 'pg';
import type { Logger } from '../../server/log.js';
import { SQLSTATE, sqlstateOf } from '../../server/db/sqlstate.js';
import type { PipelineStatement } from './pipeline.js';

const FUNCTION = 'pg_temp.tandem_expect_rows';

const CREATE = `
create function ${FUNCTION}(touched bigint, expected bigint, ordinals text) returns bigint
language plpgsql as $$
begin
  if touched is distinct from expected then
    raise exception using errcode = '${SQLSTATE.ROW_COUNT_MISMATCH}',
      message = format('%s of %s rows found', touched, expected), detail = coalesce(ordinals, '');
  end if;
  return touched;
end $$`;

/**
 * Create the check function in this target session. False when it cannot be
 * created there (logged once per session; the applier then checks row counts in Node).
 */
export async function installRowCheck(target: pg.Client, log: Logger): Promise<boolean> {
  try {
    await target.query(CREATE);
    return true;
  } catch (e) {
    const code = sqlstateOf(e);
    if (code !== SQLSTATE.INSUFFICIENT_PRIVILEGE && code !== SQLSTATE.UNDEFINED_OBJECT) throw e;
    log.info('row counts are checked in the replicator, one more round trip per group: no temporary PL/pgSQL function can be created on the target', {
      error: (e as Error).message,
    });
    return false;
  }
}

/** What a statement whose row count is checked on the target needs to say about itself. */
export interface CheckedStatement extends PipelineStatement {
  /** Rows the statement must change. */
  expectRows: number;
  /** The statement returns the ordinal (`ord`) of each row it touched (set-based, batch.ts): the error lists them. */
  ordinals: boolean;
}

/**
 * The statement wrapped so that the target raises ROW_COUNT_MISMATCH when it
 * touches a number of rows other than `expectRows`, or null when it cannot be
 * wrapped: a statement with its own WITH holding a data-modifying statement
 * (the identity-replacing update, relation.ts) may not be nested in another
 * WITH. A named statement gets a name of its own (both forms may be prepared
 * in one session).
 */
export function checkedOnTarget(s: CheckedStatement): PipelineStatement | null {
  if (/^\s*with\b/i.test(s.text)) return null;
  const rows = s.ordinals || /^\s*select\b/i.test(s.text) ? s.text : `${s.text} returning 1`;
  const ordinals = s.ordinals ? 'string_agg(c.ord::text, \',\')' : 'null';
  return {
    name: s.name ? `${s.name}.checked${s.expectRows}` : '',
    text: `with c as (${rows}) select ${FUNCTION}(count(*), ${s.expectRows}, ${ordinals}) from c`,
    values: s.values,
  };
}

/** The ordinals a failed check reported (its error detail), as the set-based statement would have returned them. */
export function reportedOrdinals(e: unknown): string[] {
  const detail = (e as { detail?: string })?.detail ?? '';
  return detail ? detail.split(',') : [];
}
