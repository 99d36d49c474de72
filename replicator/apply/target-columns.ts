/**
 * What the target's catalog says about a replicated table's columns, which a
 * `relation` message does not carry: identity columns defined GENERATED
 * ALWAYS (an INSERT needs OVERRIDING SYSTEM VALUE, an UPDATE cannot set them)
 * and stored generated columns (computed by the target itself, never written;
 * pgoutput sends them only on PostgreSQL 18+ with publish_generated_columns).
 */
import type pg from 'pg';

export interface TargetColumn {
  /** 'a' = GENERATED ALWAYS AS IDENTITY, 'd' = BY DEFAULT, '' = not an identity column. */
  identity: '' | 'a' | 'd';
  /** 's' = GENERATED ALWAYS AS (expr) STORED. */
  generated: '' | 's' | 'v';
  /** format_type() of the column, for casts in statements that cannot infer it. */
  type: string;
}

const text = `
select a.attname::text as name, a.attidentity::text as identity, a.attgenerated::text as generated,
       format_type(a.atttypid, a.atttypmod) as type
  from pg_attribute a
 where a.attrelid = format('%I.%I', $1::text, $2::text)::regclass and a.attnum > 0 and not a.attisdropped`;

export async function targetColumnInfo(client: pg.ClientBase, schema: string, name: string): Promise<Map<string, TargetColumn>> {
  const res = await client.query<{ name: string; identity: TargetColumn['identity']; generated: TargetColumn['generated']; type: string }>({
    name: 'tandem.replTargetColumns',
    text,
    values: [schema, name],
  });
  return new Map(res.rows.map((r) => [r.name, { identity: r.identity, generated: r.generated, type: r.type }]));
}
