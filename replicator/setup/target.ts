/**
 * Target-side check: every published table exists on the target with every
 * published column. A difference means the target's schema is behind: the
 * message names what is missing and says to run `tandem migrate` there.
 */
import type pg from 'pg';
import { TandemError } from '../../server/errors.js';

/** Columns of each table on the target (null when the table is missing), one query. */
export async function targetColumns(client: pg.ClientBase, tables: { schema: string; name: string }[]): Promise<Map<string, string[] | null>> {
  const res = await client.query<{ schema: string; name: string; columns: string[] | null }>(
    `select t.schema, t.name,
            (select array_agg(a.attname::text order by a.attnum) from pg_attribute a
              where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns
       from unnest($1::text[], $2::text[]) as t(schema, name)
       left join pg_namespace n on n.nspname = t.schema
       left join pg_class c on c.relnamespace = n.oid and c.relname = t.name and c.relkind in ('r', 'p')`,
    [tables.map((t) => t.schema), tables.map((t) => t.name)],
  );
  const out = new Map<string, string[] | null>();
  for (const r of res.rows) out.set(`${r.schema}.${r.name}`, r.columns);
  return out;
}

export function compareShapes(
  tables: { schema: string; name: string; columns: string[] }[],
  onTarget: Map<string, string[] | null>,
): string[] {
  const problems: string[] = [];
  for (const t of tables) {
    const key = `${t.schema}.${t.name}`;
    const cols = onTarget.get(key);
    if (!cols) {
      problems.push(`table ${key} is missing on the target`);
      continue;
    }
    const missing = t.columns.filter((c) => !cols.includes(c));
    if (missing.length) problems.push(`table ${key} on the target lacks column(s) ${missing.join(', ')}`);
  }
  return problems;
}

function mismatch(problems: string[]): TandemError {
  return new TandemError(
    'replication_setup',
    `the target database does not match the source: ${problems.join('; ')}. Run \`tandem migrate\` against the target database, then start the replicator again`,
  );
}

export async function checkTargetTables(client: pg.ClientBase, tables: { schema: string; name: string; columns: string[] }[]): Promise<void> {
  const problems = compareShapes(tables, await targetColumns(client, tables));
  if (problems.length) throw mismatch(problems);
}

/** The same check for one table whose target columns are known (null: the target has no such table). */
export function checkTargetTable(table: { schema: string; name: string; columns: string[] }, onTarget: string[] | null): void {
  const problems = compareShapes([table], new Map([[`${table.schema}.${table.name}`, onTarget]]));
  if (problems.length) throw mismatch(problems);
}
