/**
 * Sequences are not carried by pgoutput: copy their values from source to
 * target, periodically and on demand (the failover command calls
 * `syncSequences` before promoting a passive site). A target sequence never
 * moves backwards: it is set only when the source is ahead (for descending
 * sequences: below).
 */
import pg from 'pg';
import { READ_WRITE_OPTIONS } from '../../server/site/connect.js';
import type { Logger } from '../../server/log.js';
import { silentLogger } from '../../server/log.js';
import { SOURCE_SESSION_OPTIONS } from '../stream/connection.js';

export interface SequenceSyncResult {
  /** `schema.name` of sequences moved forward on the target. */
  advanced: string[];
  /** Sequences already at or ahead of the source. */
  unchanged: number;
  /** Source sequences that do not exist on the target (run `tandem migrate` there). */
  missing: string[];
}

interface SeqRow {
  schemaname: string;
  sequencename: string;
  last_value: string | null;
  increment_by: string;
}

const listText = `
select schemaname::text, sequencename::text, last_value::text, increment_by::text
  from pg_sequences where schemaname = any($1::text[]) order by 1, 2`;

// One statement per sequence: compare and set under a row lock of the sequence, so
// a value read from the source only ever moves the target sequence forward.
const advanceText = `
with cur as (select last_value, increment_by from pg_sequences where schemaname = $1 and sequencename = $2)
select setval(format('%I.%I', $1::text, $2::text)::regclass, $3::bigint, true) as set
  from cur
 where (cur.increment_by > 0 and ($3::bigint > cur.last_value or cur.last_value is null))
    or (cur.increment_by < 0 and ($3::bigint < cur.last_value or cur.last_value is null))`;

export async function syncSequencesWith(source: pg.ClientBase, target: pg.ClientBase, schemas: string[], log: Logger = silentLogger): Promise<SequenceSyncResult> {
  const src = await source.query<SeqRow>({ name: 'tandem.listSequences', text: listText, values: [schemas] });
  const dst = await target.query<SeqRow>({ name: 'tandem.listSequences', text: listText, values: [schemas] });
  const onTarget = new Set(dst.rows.map((r) => `${r.schemaname}.${r.sequencename}`));
  const result: SequenceSyncResult = { advanced: [], unchanged: 0, missing: [] };
  for (const s of src.rows) {
    const name = `${s.schemaname}.${s.sequencename}`;
    if (!onTarget.has(name)) {
      result.missing.push(name);
      continue;
    }
    if (s.last_value === null) {
      result.unchanged++; // never used on the source
      continue;
    }
    const res = await target.query({ name: 'tandem.advanceSequence', text: advanceText, values: [s.schemaname, s.sequencename, s.last_value] });
    if (res.rowCount) result.advanced.push(name);
    else result.unchanged++;
  }
  if (result.missing.length) log.warn('sequences missing on the target (run `tandem migrate` there)', { sequences: result.missing });
  if (result.advanced.length) log.debug('sequences advanced on the target', { sequences: result.advanced });
  return result;
}

/** Copy sequence values of `schemas` from source to target, never backwards. */
export async function syncSequences(sourceUrl: string, targetUrl: string, schemas: string[] = ['tandem'], log: Logger = silentLogger): Promise<SequenceSyncResult> {
  const source = new pg.Client({ connectionString: sourceUrl, application_name: 'tandem-sequence-sync', options: SOURCE_SESSION_OPTIONS });
  const target = new pg.Client({ connectionString: targetUrl, application_name: 'tandem-sequence-sync', options: READ_WRITE_OPTIONS });
  // A connection lost between queries is reported by the next query; unhandled, node-pg's 'error' event would crash the process.
  source.on('error', () => undefined);
  target.on('error', () => undefined);
  await source.connect();
  try {
    await target.connect();
    try {
      return await syncSequencesWith(source, target, schemas, log);
    } finally {
      await target.end();
    }
  } finally {
    await source.end();
  }
}
