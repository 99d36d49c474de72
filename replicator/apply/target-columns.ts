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
import { TypeCatalog } from './type-properties.js';

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

/**
 * Every column, unique index and replica trigger of the tables in `$1` schemas (of the one table `$2`
 * when given), one row per table: tables and partitioned tables only, as the set-up's target check.
 */
const tablesText = `
select n.nspname::text as schema, c.relname::text as name,
       (select json_agg(json_build_object(
                 'name', a.attname::text, 'identity', a.attidentity::text, 'generated', a.attgenerated::text,
                 'typeOid', a.atttypid::int, 'plainArray', (t.typtype in ('b', 'e') and t.typcategory <> 'A'),
                 'binaryIO', (t.typsend <> 0 and t.typreceive <> 0 and
                              (t.typelem = 0 or exists (select 1 from pg_type e where e.oid = t.typelem and e.typsend <> 0 and e.typreceive <> 0))))
                 order by a.attnum)
          from pg_attribute a join pg_type t on t.oid = a.atttypid
         where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns,
       coalesce((select json_agg(case when i.indisexclusion or 0 = any(i.indkey::int2[]) or i.indexprs is not null then null else
                   (select json_agg(a.attname::text) from pg_attribute a where a.attrelid = i.indrelid and a.attnum = any(i.indkey::int2[])) end)
                   from pg_index i where i.indrelid = c.oid and (i.indisunique or i.indisexclusion)), '[]') as unique_indexes,
       (select count(*)::int from pg_trigger g where g.tgrelid = c.oid and not g.tgisinternal and g.tgenabled in ('A', 'R')) as replica_triggers
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where n.nspname = any($1::text[]) and ($2::text is null or c.relname = $2::text) and c.relkind in ('r', 'p')`;

interface TableRow {
  schema: string;
  name: string;
  columns: { name: string; identity: TargetColumn['identity']; generated: TargetColumn['generated']; typeOid: number; plainArray: boolean; binaryIO: boolean }[] | null;
  unique_indexes: (string[] | null)[];
  replica_triggers: number;
}

/**
 * Facts read ahead serve the relation messages that arrive within this long
 * of the read, at the session's start: its start-up backlog, where a table's
 * first change would otherwise wait for the catalog. A table first changed
 * later reads the catalog then, as before the read-ahead, so that a target
 * migrated since (a unique index or trigger added: set-based apply must stop;
 * a column type changed) is seen.
 */
const READ_AHEAD_SERVES_MS = 10_000;

/**
 * The target's catalog facts of one session's tables. A table's first
 * change waits for them (applier.ts, onRelation), so the session reads every
 * table of the replicated schemas at its start, while the set-up and
 * START_REPLICATION run (session.ts): one query for all tables and one for
 * their column types, instead of about four round trips at each table's
 * first change (replicator/docs/performance.md, "Start-up"). An entry read
 * ahead serves one relation message, within READ_AHEAD_SERVES_MS, and only
 * when the target had every column the message names; otherwise (a later
 * message for the same table after a schema change, a column added on the
 * target since) the catalog is read again.
 */
export class TargetTables {
  private readonly ahead = new Map<string, TargetTable>();
  private readAt = 0;
  /** The session's type cache (named source types of binary columns, applier.ts). */
  readonly types: TypeCatalog;

  /** `clock`: ms, Date.now unless a test moves time. */
  constructor(
    private readonly client: pg.ClientBase,
    private readonly clock: () => number = Date.now,
  ) {
    this.types = new TypeCatalog(client);
  }

  /** Read every table of these schemas ahead. */
  async readAhead(schemas: string[]): Promise<void> {
    for (const [key, table] of await this.read(schemas, null, this.types)) this.ahead.set(key, table);
    this.readAt = this.clock();
  }

  /** The facts of a table whose relation message names `columns` (read ahead, or now); null when the target has no such table. */
  async take(schema: string, name: string, columns: string[]): Promise<TargetTable | null> {
    const key = `${schema}.${name}`;
    const known = this.ahead.get(key);
    this.ahead.delete(key);
    if (known && this.clock() - this.readAt <= READ_AHEAD_SERVES_MS && columns.every((c) => known.columns.has(c))) return known;
    // Each reading of a single table reads its types afresh too (a type renamed on the target since).
    return (await this.read([schema], name, new TypeCatalog(this.client))).get(key) ?? null;
  }

  private async read(schemas: string[], name: string | null, types: TypeCatalog): Promise<Map<string, TargetTable>> {
    const res = await this.client.query<TableRow>({ name: 'tandem.replTargetTables', text: tablesText, values: [schemas, name] });
    await types.load(res.rows.flatMap((r) => (r.columns ?? []).map((c) => c.typeOid)));
    const out = new Map<string, TargetTable>();
    for (const r of res.rows) {
      const columns = new Map<string, TargetColumn>();
      for (const c of r.columns ?? []) {
        const p = await types.properties(c.typeOid);
        columns.set(c.name, {
          identity: c.identity,
          generated: c.generated,
          type: p.name,
          compareAs: p.compareAs,
          equality: p.equality,
          exactText: p.exactText,
          plainArray: c.plainArray,
          typeOid: c.typeOid,
          binaryIO: c.binaryIO,
        });
      }
      out.set(`${r.schema}.${r.name}`, { columns, uniqueIndexes: r.unique_indexes, replicaTriggers: r.replica_triggers });
    }
    return out;
  }
}
