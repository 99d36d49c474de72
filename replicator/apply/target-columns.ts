/**
 * What the target's catalog says about a replicated table, which a `relation`
 * message does not carry:
 * - identity columns defined GENERATED ALWAYS (an INSERT needs OVERRIDING
 *   SYSTEM VALUE, an UPDATE cannot set them) and stored generated columns
 *   (computed by the target itself, never written; pgoutput sends them only on
 *   PostgreSQL 18+ with publish_generated_columns);
 * - whether changes of different rows may be applied set-based, out of their
 *   source order (see batch.ts): only when the key is the table's only unique
 *   or exclusion constraint and no trigger fires under
 *   session_replication_role = replica (ENABLE ALWAYS / ENABLE REPLICA).
 */
import type pg from 'pg';
import type { TypeCatalog } from './type-properties.js';

export interface TargetColumn {
  /** 'a' = GENERATED ALWAYS AS IDENTITY, 'd' = BY DEFAULT, '' = not an identity column. */
  identity: '' | 'a' | 'd';
  /** 's' = GENERATED ALWAYS AS (expr) STORED. */
  generated: '' | 's' | 'v';
  /** The column's exact type, schema-qualified, without its modifier (type-properties.ts): every parameter is cast to it. */
  type: string;
  /** The type values are compared as (a domain's base type; type-properties.ts). */
  compareAs: string;
  /** The type has an equality operator (REPLICA IDENTITY FULL rows are found with it; else through text). */
  equality: boolean;
  /** Equal values of the type always print the same text (type-properties.ts). */
  exactText: boolean;
  /**
   * A base or enum type that is not itself an array: set-based statements may
   * pass its values as an array of that type. (unnest of a composite array
   * yields several columns, of an array of arrays one 2-D array: those go as
   * text and are cast per value.)
   */
  plainArray: boolean;
  /** The type's OID on the target (the element type of a binary array, binary-values.ts). */
  typeOid: number;
  /**
   * The type has binary send and receive functions (and so does its element
   * type, for an array): with binary transfer its values arrive and travel
   * in binary (binary-values.ts); the others stay text.
   */
  binaryIO: boolean;
}

export interface TargetTable {
  columns: Map<string, TargetColumn>;
  /** Column names of each unique index (null: an exclusion constraint or an index with an expression; never batchable). */
  uniqueIndexes: (string[] | null)[];
  /** Triggers that fire on applied rows (enabled ALWAYS or REPLICA). */
  replicaTriggers: number;
}

const columnsText = `
select a.attname::text as name, a.attidentity::text as identity, a.attgenerated::text as generated,
       a.atttypid::int as type_oid, (t.typtype in ('b', 'e') and t.typcategory <> 'A') as plain_array,
       (t.typsend <> 0 and t.typreceive <> 0 and
        (t.typelem = 0 or exists (select 1 from pg_type e where e.oid = t.typelem and e.typsend <> 0 and e.typreceive <> 0))) as binary_io
  from pg_attribute a
  join pg_type t on t.oid = a.atttypid
 where a.attrelid = format('%I.%I', $1::text, $2::text)::regclass and a.attnum > 0 and not a.attisdropped`;

const tableText = `
with r as (select format('%I.%I', $1::text, $2::text)::regclass::oid as oid)
select coalesce((select json_agg(case when i.indisexclusion or 0 = any(i.indkey::int2[]) or i.indexprs is not null then null else
                   (select json_agg(a.attname::text) from pg_attribute a where a.attrelid = i.indrelid and a.attnum = any(i.indkey::int2[])) end)
                   from pg_index i where i.indrelid = r.oid and (i.indisunique or i.indisexclusion)), '[]') as unique_indexes,
       (select count(*)::int from pg_trigger t where t.tgrelid = r.oid and not t.tgisinternal and t.tgenabled in ('A', 'R')) as replica_triggers
  from r`;

/** `types`: the session's type cache (a type is read once per session, not once per table). */
export async function targetTableInfo(client: pg.ClientBase, schema: string, name: string, types: TypeCatalog): Promise<TargetTable> {
  const cols = await client.query<{
    name: string;
    identity: TargetColumn['identity'];
    generated: TargetColumn['generated'];
    type_oid: number;
    plain_array: boolean;
    binary_io: boolean;
  }>({
    name: 'tandem.replTargetColumns',
    text: columnsText,
    values: [schema, name],
  });
  const table = await client.query<{ unique_indexes: (string[] | null)[]; replica_triggers: number }>({
    name: 'tandem.replTargetTable',
    text: tableText,
    values: [schema, name],
  });
  const t = table.rows[0]!;
  await types.load(cols.rows.map((r) => r.type_oid));
  const columns = new Map<string, TargetColumn>();
  for (const r of cols.rows) {
    const p = await types.properties(r.type_oid);
    columns.set(r.name, {
      identity: r.identity,
      generated: r.generated,
      type: p.name,
      compareAs: p.compareAs,
      equality: p.equality,
      exactText: p.exactText,
      plainArray: r.plain_array,
      typeOid: r.type_oid,
      binaryIO: r.binary_io,
    });
  }
  return {
    columns,
    uniqueIndexes: t.unique_indexes,
    replicaTriggers: t.replica_triggers,
  };
}
