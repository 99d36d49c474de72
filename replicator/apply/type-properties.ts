/**
 * What the applier must know about a column's type on the target to write
 * and find rows correctly (see replicator/README.md, "Types"):
 *
 * - `name`: the exact, schema-qualified type name (`"pg_catalog"."int4"`,
 *   `"pg_catalog"."_text"` for text[], `"tandem"."mood"`, a domain's own name).
 *   Every parameter is cast to it (`$n::name`): an untyped parameter compared
 *   with a composite column resolves to the anonymous `record` type, whose
 *   input is not implemented. The catalog name, not `format_type`, because
 *   SQL's grammar gives some names a modifier of their own: `::bit` and
 *   `::character` mean bit(1) and char(1) and truncate, `"pg_catalog"."bit"`
 *   does not; and a qualified name does not depend on search_path.
 * - `equality`: the type has an equality operator the way PostgreSQL's type
 *   cache (and so its apply worker) finds one: a default btree or hash
 *   operator class of the type (or one it is binary-coercible to), an array
 *   or a composite whose element/field types all have one, any enum, range
 *   or multirange. A domain is its base type. Types without (json, xml,
 *   point, arrays and composites containing them) are compared through text.
 * - `exactText`: equal values always print the same text (under the pinned
 *   session settings). Not so for numeric (1.1 = 1.10), float (0 = -0),
 *   interval (1 day = 24 hours), citext, jsonb (numbers inside), ... The
 *   set-based apply recognises "the same row" by the key's text, so it is
 *   used only for keys of such types; REPLICA IDENTITY FULL rows prefer, among
 *   equal rows, the one with identical text.
 */
import type pg from 'pg';

export interface TypeProperties {
  name: string;
  /**
   * The type values are compared as: a domain's base type (domains
   * unwrapped), else `name`. `=` does not resolve for a domain over an enum
   * (`operator does not exist: d = d`), and a domain adds nothing to equality.
   */
  compareAs: string;
  equality: boolean;
  exactText: boolean;
}

/**
 * Built-in base types whose equal values always have one text form: the set-based apply's keys
 * (when changing this, read replicator/docs/set-based-apply.md).
 */
const EXACT_BASE = new Set([
  'bool', 'int2', 'int4', 'int8', 'oid', 'text', 'varchar', 'bpchar', 'name', 'char', 'uuid', 'bytea', 'date', 'time', 'timetz',
  'timestamp', 'timestamptz', 'inet', 'cidr', 'macaddr', 'macaddr8', 'bit', 'varbit', 'money', 'pg_lsn',
]);

interface TypeRow {
  oid: number;
  nspname: string;
  typname: string;
  typtype: string;
  is_array: boolean;
  typelem: number;
  typbasetype: number;
  typrelid: number;
  rngsubtype: number | null;
  base_eq: boolean;
  fields: number[] | null;
}

const typeText = `
select t.oid::int as oid, n.nspname::text as nspname, t.typname::text as typname, t.typtype::text as typtype,
       (t.typsubscript = 'array_subscript_handler'::regproc) as is_array, t.typelem::int as typelem,
       t.typbasetype::int as typbasetype, t.typrelid::int as typrelid,
       (select r.rngsubtype::int from pg_range r where r.rngtypid = t.oid or r.rngmultitypid = t.oid) as rngsubtype,
       exists (select 1 from pg_opclass c join pg_am a on a.oid = c.opcmethod
                where c.opcdefault and a.amname in ('btree', 'hash')
                  and (c.opcintype = t.oid or exists (select 1 from pg_cast k where k.castsource = t.oid and k.casttarget = c.opcintype and k.castmethod = 'b' and k.castcontext = 'i'))) as base_eq,
       (select array_agg(a.atttypid::int order by a.attnum) from pg_attribute a
         where t.typrelid <> 0 and a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped) as fields
  from pg_type t join pg_namespace n on n.oid = t.typnamespace
 where t.oid = any($1::oid[])`;

function quote(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

/** Reads type properties from the target's catalog, each type once per cache. */
export class TypeCatalog {
  private readonly rows = new Map<number, TypeRow>();
  private readonly props = new Map<number, { equality: boolean; exactText: boolean }>();

  constructor(private readonly client: pg.ClientBase) {}

  /**
   * Read the catalog rows of these types that are not cached yet, in one query: a table's column types
   * at its first relation message, before `properties` asks for each (one round trip instead of one per
   * type on the way to the table's first change). The types they lead to (a domain's base, an array's
   * element, a composite's fields) are read when `properties` reaches them.
   */
  async load(oids: number[]): Promise<void> {
    const missing = [...new Set(oids)].filter((oid) => !this.rows.has(oid));
    if (!missing.length) return;
    const res = await this.client.query<TypeRow>({ name: 'tandem.replTypeProperties', text: typeText, values: [missing] });
    for (const r of res.rows) this.rows.set(r.oid, r);
  }

  private async row(oid: number): Promise<TypeRow> {
    if (!this.rows.has(oid)) await this.load([oid]);
    const r = this.rows.get(oid);
    if (!r) throw new Error(`type OID ${oid} not found in the target's catalog`);
    return r;
  }

  async properties(oid: number): Promise<TypeProperties> {
    const r = await this.row(oid);
    let b = r;
    for (let depth = 0; b.typtype === 'd' && depth < 32; depth++) b = await this.row(b.typbasetype);
    return { name: `${quote(r.nspname)}.${quote(r.typname)}`, compareAs: `${quote(b.nspname)}.${quote(b.typname)}`, ...(await this.compare(oid, 0)) };
  }

  private async compare(oid: number, depth: number): Promise<{ equality: boolean; exactText: boolean }> {
    const known = this.props.get(oid);
    if (known) return known;
    // A composite type cannot contain itself; the depth limit only guards against a catalog surprise.
    if (depth > 32) return { equality: false, exactText: false };
    const r = await this.row(oid);
    let out: { equality: boolean; exactText: boolean };
    if (r.typtype === 'd') out = await this.compare(r.typbasetype, depth + 1);
    else if (r.is_array && r.typelem) out = await this.compare(r.typelem, depth + 1);
    else if (r.typtype === 'c') {
      out = { equality: true, exactText: true };
      for (const f of r.fields ?? []) {
        const p = await this.compare(f, depth + 1);
        out = { equality: out.equality && p.equality, exactText: out.exactText && p.exactText };
      }
    } else if (r.typtype === 'e') out = { equality: true, exactText: true };
    else if (r.typtype === 'r' || r.typtype === 'm') {
      // Equality through the subtype's btree class (required by CREATE TYPE ... AS RANGE).
      const sub = r.rngsubtype ? await this.compare(r.rngsubtype, depth + 1) : { exactText: false };
      out = { equality: true, exactText: sub.exactText };
    } else if (r.typtype === 'b') out = { equality: r.base_eq, exactText: r.base_eq && r.nspname === 'pg_catalog' && EXACT_BASE.has(r.typname) };
    else out = { equality: false, exactText: false };
    this.props.set(oid, out);
    return out;
  }
}

/** Whether the target has a type of this qualified name (`"ns"."name"`, as TypeProperties.name). */
export async function typeExists(client: pg.ClientBase, name: string): Promise<boolean> {
  const res = await client.query<{ ok: boolean }>({ name: 'tandem.replTypeExists', text: 'select to_regtype($1::text) is not null as ok', values: [name] });
  return res.rows[0]!.ok;
}
