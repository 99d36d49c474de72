import type pg from 'pg';

export interface ColumnType {
  name: string;
  /** `"ns"."name"` of the column's type (a domain's own name). */
  type: string;
  /** The type has binary send and receive functions (and so does its element type, for an array). */
  binaryIO: boolean;
}

/**
 * A table's column types, run on both sites by the initial copy: a binary
 * COPY is exact only when every column's type is the same on both.
 */
export async function columnTypes(client: pg.ClientBase, schema: string, table: string): Promise<Map<string, ColumnType>> {
  const { rows } = await client.query<ColumnType>({
    name: 'tandem.replCopyColumnTypes',
    text: `select a.attname::text as name, format('"%s"."%s"', replace(n.nspname, '"', '""'), replace(t.typname, '"', '""')) as type,
                  (t.typsend <> 0 and t.typreceive <> 0 and
                   (t.typelem = 0 or exists (select 1 from pg_type e where e.oid = t.typelem and e.typsend <> 0 and e.typreceive <> 0))) as "binaryIO"
             from pg_attribute a
             join pg_type t on t.oid = a.atttypid
             join pg_namespace n on n.oid = t.typnamespace
            where a.attrelid = format('%I.%I', $1::text, $2::text)::regclass and a.attnum > 0 and not a.attisdropped`,
    values: [schema, table],
  });
  return new Map(rows.map((r) => [r.name, r]));
}
