/**
 * Forced failover: the old active site may have handed out sequence values
 * (serial and identity columns) that never reached this site. Every sequence
 * of the replicated schemas is moved past the largest value in its column
 * (or, for a sequence no column owns, past its own value) plus a safety
 * margin, so new rows never collide with rows the old site wrote but this
 * one never received. (Tandem's own tables use UUIDs; this covers any table
 * with a sequence.)
 */
import type pg from 'pg';

export interface MovedSequence {
  sequence: string;
  column: string | null;
  from: string | null;
  to: string;
}

interface SeqRow {
  seq_schema: string;
  seq_name: string;
  last_value: string | null;
  increment_by: string;
  tbl_schema: string | null;
  tbl_name: string | null;
  col_name: string | null;
}

const listText = `
select s.schemaname::text as seq_schema, s.sequencename::text as seq_name, s.last_value::text, s.increment_by::text,
       tn.nspname::text as tbl_schema, t.relname::text as tbl_name, a.attname::text as col_name
  from pg_sequences s
  join pg_class sc on sc.relname = s.sequencename
  join pg_namespace sn on sn.oid = sc.relnamespace and sn.nspname = s.schemaname
  left join pg_depend d on d.objid = sc.oid and d.classid = 'pg_class'::regclass and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
  left join pg_class t on t.oid = d.refobjid
  left join pg_namespace tn on tn.oid = t.relnamespace
  left join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
 where s.schemaname = any($1::text[])
 order by 1, 2`;

/** Move every sequence of `schemas` past its column's maximum + margin (ascending sequences; descending ones below the minimum). */
export async function moveSequencesPastMax(c: pg.ClientBase, schemas: string[], margin: number): Promise<MovedSequence[]> {
  const { rows } = await c.query<SeqRow>({ name: 'tandem.failoverListSequences', text: listText, values: [schemas] });
  const moved: MovedSequence[] = [];
  for (const s of rows) {
    const up = BigInt(s.increment_by) > 0n;
    let extreme: string | null = null;
    if (s.tbl_name && s.col_name && s.tbl_schema) {
      // Identifiers come from the catalog and are quoted by format(%I); no user input reaches this SQL.
      const q = await c.query<{ v: string | null }>({
        text: `select (select ${up ? 'max' : 'min'}(x)::text from (select ${ident(s.col_name)} as x from ${ident(s.tbl_schema)}.${ident(s.tbl_name)}) q) as v`,
      });
      extreme = q.rows[0]!.v;
    }
    const base = [extreme, s.last_value].filter((v): v is string => v !== null).map((v) => BigInt(v));
    const start = base.length ? base.reduce((a, b) => (up ? (a > b ? a : b) : a < b ? a : b)) : null;
    if (start === null) continue; // never used and the column is empty: nothing can collide
    const target = up ? start + BigInt(margin) : start - BigInt(margin);
    await c.query({
      name: 'tandem.failoverSetSequence',
      text: `select setval(format('%I.%I', $1::text, $2::text)::regclass, $3::bigint, true)`,
      values: [s.seq_schema, s.seq_name, target.toString()],
    });
    moved.push({
      sequence: `${s.seq_schema}.${s.seq_name}`,
      column: s.col_name ? `${s.tbl_schema}.${s.tbl_name}.${s.col_name}` : null,
      from: s.last_value,
      to: target.toString(),
    });
  }
  return moved;
}

function ident(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}
