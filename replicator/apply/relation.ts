/**
 * What the applier knows about a source relation (a `relation` message comes
 * before a table's first change in a session and again after its schema
 * changes; when changing this, read replicator/docs/stream-client.md): its columns and
 * key from the latest `relation` message, keyed by the source's relation OID,
 * and the SQL it applies changes with. A new `relation` message for the same
 * OID (schema change) replaces the entry and with it every prepared statement
 * name, so a stale statement is never reused.
 *
 * The target's catalog adds what the message does not say (target-columns.ts):
 * stored generated columns are never written (the target computes them), and
 * identity columns defined GENERATED ALWAYS are inserted with OVERRIDING
 * SYSTEM VALUE. An UPDATE cannot set such a column at all (only to DEFAULT), so
 * an update that changes one, or may have changed one, replaces the row
 * instead: one statement deletes it and inserts the new version (unchanged
 * TOAST values taken from the deleted row). Under session_replication_role =
 * replica, which the replicator requires (target-session.ts), no trigger or
 * foreign-key action sees that as a delete.
 */
import type { RelationMessage, Tuple } from '../stream/pgoutput.js';
import { quoteIdent } from '../stream/connection.js';
import { binaryParam, printable, type Param } from './binary-values.js';
import type { TargetColumn, TargetTable } from './target-columns.js';

export interface RelationEntry {
  oid: number;
  schema: string;
  name: string;
  /** `schema.name` unquoted, for messages and hooks. */
  table: string;
  qualified: string;
  columns: string[];
  quotedColumns: string[];
  keyIndexes: number[];
  /** REPLICA IDENTITY FULL: rows are found by every old value. */
  full: boolean;
  /** Indexes of the columns the applier writes (all but the target's generated columns). */
  written: number[];
  /** Every column is written: tuples go to statements as they are. */
  allWritten: boolean;
  /** Per column: GENERATED ALWAYS AS IDENTITY on the target. */
  identityAlways: boolean[];
  /** Per column: the target's exact, schema-qualified type; every parameter is cast to it (type-properties.ts). */
  types: string[];
  /** Per column: the type WHERE clauses compare as (a domain's base type). */
  compareAs: string[];
  /** Per column: the type has an equality operator (REPLICA IDENTITY FULL matching; else compared as text). */
  equality: boolean[];
  /** Per column: equal values always print the same text (type-properties.ts). */
  exactText: boolean[];
  /** Per column: values may travel as an array of the column's type (TargetColumn.plainArray). */
  plainArray: boolean[];
  /** Per column: values arrive and travel in binary (binary transfer, a type with send and receive functions; binary-values.ts). */
  binary: boolean[];
  /** Some column is binary: parameters are converted (param()). */
  anyBinary: boolean;
  /** Inserts may go through COPY: text COPY without binary transfer, binary COPY when every written column is binary. */
  copyable: boolean;
  /** Per column: the target's type OID (binary arrays name their element type). */
  typeOids: number[];
  /**
   * Per binary column whose type differs between the sites: the source's
   * type, whose receive function reads the bytes (the value is then cast to
   * the target's type, as a text value would be parsed as it); else null.
   */
  recvAs: (string | null)[];
  /**
   * Changes of different rows may be applied set-based, out of source order
   * (batch.ts): the key is the only unique or exclusion constraint on the
   * target, no trigger there fires on applied rows, and equal keys always
   * have the same text (a batch recognises a second change of one row by the
   * key's text: numeric 1.1 and 1.10 are one key with two texts).
   */
  batchable: boolean;
  /**
   * The target has a unique index on exactly the key columns: set-based
   * updates and deletes find their rows through it, one probe per row
   * (StatementQueue.joinByIndex), instead of the hash join over the whole
   * table the planner prefers for batches of hundreds of rows.
   */
  keyIndexed: boolean;
  /**
   * Most rows one set-based statement may take: unbounded, except when it
   * passes one parameter per value (batch.ts needsValuesList), as a statement
   * takes at most 65,535 parameters.
   */
  batchRowsLimit: number;
  /** Distinguishes statement names across schema changes. */
  generation: number;
  statements: Map<string, string>;
}

let generationCounter = 0;

/** The protocol's limit: a Bind message counts its parameters in 16 bits. */
const MAX_PARAMETERS = 65_535;

/**
 * `binaryTransfer`: the stream sends binary values of types with send
 * functions; `sourceTypes` then holds, by OID, the names (sourceTypeName) of
 * the stream's named types and of the built-in source types that differ
 * from the target's (unnamedDifferingTypes).
 */
export function relationEntry(msg: RelationMessage, target?: TargetTable, binaryTransfer = false, sourceTypes?: ReadonlyMap<number, string>): RelationEntry {
  const quotedColumns = msg.columns.map((c) => quoteIdent(c.name));
  const keyIndexes: number[] = [];
  msg.columns.forEach((c, i) => c.isKey && keyIndexes.push(i));
  const info = msg.columns.map((c) => target?.columns.get(c.name));
  const binary = info.map((c) => binaryTransfer && c?.binaryIO === true);
  const recvAs = msg.columns.map((c, i) => (binary[i] ? differingSourceType(c.typeOid, info[i]!, sourceTypes) : null));
  const written = msg.columns.map((_, i) => i).filter((i) => !info[i]?.generated);
  const keyNames = keyIndexes.map((i) => msg.columns[i]!.name).sort().join('\0');
  /** A unique index of the target on exactly the key columns. */
  const onKey = (cols: readonly string[] | null) => cols !== null && [...cols].sort().join('\0') === keyNames;
  // Set-based apply reorders changes of different rows: safe only under these conditions
  // (when changing this, read replicator/docs/set-based-apply.md).
  const batchable =
    !!target &&
    msg.replicaIdentity !== 'full' &&
    keyIndexes.length > 0 &&
    target.replicaTriggers === 0 &&
    keyIndexes.every((i) => info[i]?.exactText === true) &&
    target.uniqueIndexes.every(onKey);
  const keyIndexed = !!target && keyIndexes.length > 0 && target.uniqueIndexes.some(onKey);
  const anyBinary = binary.some((b) => b);
  // An update that moves its key passes the key twice (old and new): keys + every written column.
  const perRow = written.length + keyIndexes.length;
  const valuesList = written.some((i) => onePerParameter(binary[i]!, info[i]?.plainArray === true, recvAs[i]!));
  return {
    oid: msg.relationOid,
    schema: msg.schema,
    name: msg.name,
    table: `${msg.schema}.${msg.name}`,
    qualified: `${quoteIdent(msg.schema)}.${quoteIdent(msg.name)}`,
    columns: msg.columns.map((c) => c.name),
    quotedColumns,
    keyIndexes,
    full: msg.replicaIdentity === 'full',
    written,
    allWritten: written.length === msg.columns.length,
    identityAlways: info.map((c) => c?.identity === 'a'),
    types: info.map((c) => c?.type ?? '"pg_catalog"."text"'),
    compareAs: info.map((c) => c?.compareAs ?? '"pg_catalog"."text"'),
    equality: info.map((c) => c?.equality ?? false),
    exactText: info.map((c) => c?.exactText ?? false),
    plainArray: info.map((c) => c?.plainArray ?? false),
    binary,
    anyBinary,
    copyable: !anyBinary || written.every((i) => binary[i] && recvAs[i] === null),
    typeOids: info.map((c) => c?.typeOid ?? 0),
    recvAs,
    batchable,
    keyIndexed,
    batchRowsLimit: valuesList ? Math.floor(MAX_PARAMETERS / perRow) : Infinity,
    generation: ++generationCounter,
    statements: new Map(),
  };
}

/** A named statement's name and text, built once per relation generation and shape. */
export interface Statement {
  name: string;
  text: string;
}

export function cached(rel: RelationEntry, shape: string, build: () => string): Statement {
  let text = rel.statements.get(shape);
  if (text === undefined) {
    text = build();
    rel.statements.set(shape, text);
  }
  return { name: `tandem.repl.${rel.generation}.${shape}`, text };
}

export function writtenList(rel: RelationEntry): string {
  return rel.written.map((i) => rel.quotedColumns[i]).join(', ');
}

export function overriding(rel: RelationEntry): string {
  return rel.written.some((i) => rel.identityAlways[i]) ? ' overriding system value' : '';
}

/**
 * A set-based statement passes this column's values one per parameter (a
 * VALUES list, batch.ts) rather than as one array: a binary value of a type
 * without an array of its own (an array, composite, domain or range; text
 * would be cast per value from text[]), or one read as a differing source
 * type (recvAs) and cast.
 */
export function onePerParameter(binary: boolean, plainArray: boolean, recvAs: string | null): boolean {
  return binary && (!plainArray || recvAs !== null);
}

/** Column `i`'s value `v` as a statement parameter (a binary value as its bytes, binary-values.ts). */
export function param(rel: RelationEntry, i: number, v: string | null): Param {
  return rel.binary[i] ? binaryParam(v) : v;
}

/**
 * Parameter `p` (`$n`) of column `i` typed as `as` (default: the column's
 * type): `$n::T`, or, when its binary value is in the source's differing type
 * (recvAs), `($n::S)::T`.
 */
export function typedParam(rel: RelationEntry, i: number, p: string, as: string = rel.types[i]!): string {
  const recv = rel.recvAs[i];
  return recv ? `(${p}::${recv})::${as}` : `${p}::${as}`;
}

/** The written values of a tuple, in `written` order. */
export function writtenValues(rel: RelationEntry, tuple: Tuple): Param[] {
  if (rel.allWritten && !rel.anyBinary) return tuple as (string | null)[];
  return rel.written.map((i) => param(rel, i, tuple[i] as string | null));
}

export function insertStatement(rel: RelationEntry): Statement {
  return cached(rel, 'i', () => {
    const params = rel.written.map((i, k) => typedParam(rel, i, `$${k + 1}`));
    return `insert into ${rel.qualified} (${writtenList(rel)})${overriding(rel)} values (${params.join(', ')})`;
  });
}

/** COPY writes identity-always columns as given (it has no OVERRIDING clause and needs none). */
export function copyStatement(rel: RelationEntry): string {
  return `copy ${rel.qualified} (${writtenList(rel)}) from stdin${rel.anyBinary ? ' with (format binary)' : ''}`;
}

/**
 * The WHERE clause that finds the old row; every parameter cast to the
 * column's exact type. Key tables compare key columns with `=` (a key's type
 * always has equality). REPLICA IDENTITY FULL tables compare every old value
 * the way PostgreSQL's apply worker does, with the type's own equality
 * operator; a type without one (json, xml, point, ...) is compared through
 * text: the target's value printed, against the source's value parsed as the
 * column's type and printed again, both under the pinned session settings
 * (target-session.ts). `order` (FULL only) prefers, among several equal rows,
 * the one whose text is identical (numeric 1.1 and 1.10 are equal: the row the
 * source changed is the one with its text), so the target stays byte-exact.
 */
function whereClause(
  rel: RelationEntry,
  old: Tuple,
  firstParam: number,
): { sql: string; order: string; values: Param[]; shape: string } {
  const parts: string[] = [];
  const order: string[] = [];
  const values: Param[] = [];
  let shape = '';
  let n = firstParam;
  const indexes = rel.full ? rel.columns.map((_, i) => i) : rel.keyIndexes;
  for (const i of indexes) {
    const v = old[i];
    // Compared as the base type of a domain: `=` of a domain over an enum does not resolve.
    const type = rel.compareAs[i];
    const col = type === rel.types[i] ? rel.quotedColumns[i] : `${rel.quotedColumns[i]}::${type}`;
    if (v === undefined) {
      shape += 'u';
      continue; // unchanged TOAST value in an old tuple: not part of the comparison
    }
    if (rel.full && v === null) {
      parts.push(`${col} is null`);
      shape += 'n';
      continue;
    }
    const p = typedParam(rel, i, `$${n++}`, type);
    values.push(param(rel, i, v));
    shape += 'v';
    if (!rel.full || rel.equality[i]) {
      parts.push(`${col} = ${p}`);
      if (rel.full && !rel.exactText[i]) order.push(`${col}::text = (${p})::text`);
    } else parts.push(`${col}::text = (${p})::text`);
  }
  return { sql: parts.join(' and ') || 'true', order: order.length ? ` order by (${order.join(' and ')}) desc` : '', values, shape };
}

/** FULL tables: exactly one of possibly several identical rows, as the source changed one. */
function oneRow(rel: RelationEntry, where: { sql: string; order: string }): string {
  return `(tableoid, ctid) = (select tableoid, ctid from ${rel.qualified} where ${where.sql}${where.order} limit 1)`;
}

/**
 * Must the update replace the row? Only when a GENERATED ALWAYS identity column
 * changed or may have changed: with the key unchanged (no old tuple) key
 * columns are known unchanged; an old key ('K') tells key columns; a whole old
 * row ('O', REPLICA IDENTITY FULL) tells every column; otherwise it is unknown.
 */
export function identityChanged(rel: RelationEntry, oldTuple: Tuple | null, oldKind: 'key' | 'full' | null, newTuple: Tuple): boolean {
  for (const i of rel.written) {
    if (!rel.identityAlways[i] || newTuple[i] === undefined) continue;
    const isKey = rel.keyIndexes.includes(i);
    if (oldKind === 'full' || (oldKind === 'key' && isKey)) {
      if (oldTuple![i] !== newTuple[i]) return true;
    } else if (!(oldKind === null && isKey)) return true;
  }
  return false;
}

/**
 * UPDATE, leaving unchanged TOAST columns out of the SET list (writing NULL
 * there would destroy the value; replicator/docs/stream-client.md), and
 * GENERATED ALWAYS identity columns too: they are unchanged here (see
 * identityChanged) and an UPDATE may not name them.
 */
export function updateStatement(
  rel: RelationEntry,
  oldTuple: Tuple | null,
  oldKind: 'key' | 'full' | null,
  newTuple: Tuple,
): { stmt: Statement; values: Param[] } {
  if (identityChanged(rel, oldTuple, oldKind, newTuple)) return replaceStatement(rel, oldTuple ?? newTuple, newTuple);
  const old = oldTuple ?? newTuple;
  const setCols: number[] = [];
  let setShape = '';
  for (const i of rel.written) {
    if (newTuple[i] === undefined || rel.identityAlways[i]) setShape += '_';
    else {
      setCols.push(i);
      setShape += 's';
    }
  }
  const values: Param[] = setCols.map((i) => param(rel, i, newTuple[i] as string | null));
  const where = whereClause(rel, old, values.length + 1);
  values.push(...where.values);
  const stmt = cached(rel, `u.${setShape}.${where.shape}`, () => {
    // Nothing left to set (every written column is an unchanged identity or TOAST value): the row must still exist.
    if (!setCols.length) return `select 1 from ${rel.qualified} where ${where.sql} limit 1`;
    const set = setCols.map((i, k) => `${rel.quotedColumns[i]} = ${typedParam(rel, i, `$${k + 1}`)}`).join(', ');
    // Several identical rows may exist without a key: change exactly one, as the source did.
    if (rel.full) return `update ${rel.qualified} set ${set} where ${oneRow(rel, where)}`;
    return `update ${rel.qualified} set ${set} where ${where.sql}`;
  });
  return { stmt, values };
}

/**
 * An update that changes a GENERATED ALWAYS identity column, as one statement:
 * delete the old row and insert the new one with OVERRIDING SYSTEM VALUE;
 * unchanged TOAST values come from the deleted row. Reports 1 row when the
 * old row existed, like an UPDATE.
 */
function replaceStatement(rel: RelationEntry, oldTuple: Tuple, newTuple: Tuple): { stmt: Statement; values: Param[] } {
  const given = rel.written.filter((i) => newTuple[i] !== undefined);
  const values: Param[] = given.map((i) => param(rel, i, newTuple[i] as string | null));
  const where = whereClause(rel, oldTuple, values.length + 1);
  values.push(...where.values);
  const shape = rel.written.map((i) => (newTuple[i] === undefined ? '_' : 's')).join('');
  const stmt = cached(rel, `r.${shape}.${where.shape}`, () => {
    const found = rel.full ? oneRow(rel, where) : where.sql;
    const select = rel.written.map((i) => {
      const k = given.indexOf(i);
      return k >= 0 ? typedParam(rel, i, `$${k + 1}`) : `old.${rel.quotedColumns[i]}`;
    });
    return (
      `with old as (delete from ${rel.qualified} where ${found} returning *) ` +
      `insert into ${rel.qualified} (${writtenList(rel)})${overriding(rel)} select ${select.join(', ')} from old`
    );
  });
  return { stmt, values };
}

export function deleteStatement(rel: RelationEntry, oldTuple: Tuple): { stmt: Statement; values: Param[] } {
  const where = whereClause(rel, oldTuple, 1);
  const stmt = cached(rel, `d.${where.shape}`, () =>
    rel.full ? `delete from ${rel.qualified} where ${oneRow(rel, where)}` : `delete from ${rel.qualified} where ${where.sql}`,
  );
  return { stmt, values: where.values };
}

/** Column `i`'s value as text for people and apply hooks (a binary value printed, binary-values.ts). */
export function valueText(rel: RelationEntry, i: number, v: string | null): string | null {
  return v !== null && rel.binary[i] ? printable(rel.recvAs[i] ?? rel.types[i]!, v) : v;
}

/** The key of a change, for error messages: key columns (or every column for FULL) → text. */
export function describeKey(rel: RelationEntry, tuple: Tuple): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const indexes = rel.full || !rel.keyIndexes.length ? rel.columns.map((_, i) => i) : rel.keyIndexes;
  for (const i of indexes) {
    const v = tuple[i];
    if (v === undefined) continue;
    const text = valueText(rel, i, v);
    out[rel.columns[i]!] = text !== null && text.length > 200 ? text.slice(0, 200) + '…' : text;
  }
  return out;
}

/** pgoutput names every type from this OID on in a type message (FirstGenbkiObjectId: below it, types are PostgreSQL's own). */
const FIRST_NON_BUILT_IN_OID = 10000;

/**
 * A type message's name as type-properties.ts writes names (`"ns"."name"`).
 * pgoutput names a domain by its base type, and pg_catalog by an empty
 * namespace (logicalrep_write_typ).
 */
export function sourceTypeName(schema: string, name: string): string {
  return `${quoteIdent(schema || 'pg_catalog')}.${quoteIdent(name)}`;
}

/**
 * The source's type of a binary column when it differs from the target's
 * (by OID for PostgreSQL's built-in types, which are the same on every
 * cluster; else by the name of its base type, which the stream's type
 * messages give), else null.
 */
function differingSourceType(sourceOid: number, target: TargetColumn, sourceTypes: ReadonlyMap<number, string> | undefined): string | null {
  if (sourceOid < FIRST_NON_BUILT_IN_OID ? sourceOid === target.typeOid : sourceTypes?.get(sourceOid) === target.compareAs) return null;
  const name = sourceTypes?.get(sourceOid);
  if (!name) throw new Error(`no name for the source's type OID ${sourceOid} (relationEntry needs sourceTypes for binary columns)`);
  return name;
}

/**
 * The source type OIDs of binary columns that differ from the target's and
 * that the stream did not name (built-in types: the name comes from the
 * target's catalog, where a built-in OID means the same type).
 */
export function unnamedDifferingTypes(msg: RelationMessage, target: TargetTable, sourceTypes: ReadonlyMap<number, string>): number[] {
  const out = new Set<number>();
  for (const c of msg.columns) {
    const t = target.columns.get(c.name);
    if (t?.binaryIO && c.typeOid < FIRST_NON_BUILT_IN_OID && c.typeOid !== t.typeOid && !sourceTypes.has(c.typeOid)) out.add(c.typeOid);
  }
  return [...out];
}
