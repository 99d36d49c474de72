/**
 * What the applier knows about a source relation (NOTES #7): its columns and
 * key from the latest `relation` message, keyed by the source's relation OID,
 * and the SQL it applies changes with. A new `relation` message for the same
 * OID (schema change) replaces the entry and with it every prepared statement
 * name, so a stale statement is never reused.
 */
import type { RelationMessage, Tuple } from '../stream/pgoutput.js';
import { quoteIdent } from '../stream/connection.js';

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
  /** Distinguishes statement names across schema changes. */
  generation: number;
  statements: Map<string, string>;
}

let generationCounter = 0;

export function relationEntry(msg: RelationMessage): RelationEntry {
  const quotedColumns = msg.columns.map((c) => quoteIdent(c.name));
  const keyIndexes: number[] = [];
  msg.columns.forEach((c, i) => c.isKey && keyIndexes.push(i));
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
    generation: ++generationCounter,
    statements: new Map(),
  };
}

/** A named statement's name and text, built once per relation generation and shape. */
export interface Statement {
  name: string;
  text: string;
}

function cached(rel: RelationEntry, shape: string, build: () => string): Statement {
  let text = rel.statements.get(shape);
  if (text === undefined) {
    text = build();
    rel.statements.set(shape, text);
  }
  return { name: `tandem.repl.${rel.generation}.${shape}`, text };
}

export function insertStatement(rel: RelationEntry): Statement {
  return cached(rel, 'i', () => {
    const params = rel.columns.map((_, i) => `$${i + 1}`);
    return `insert into ${rel.qualified} (${rel.quotedColumns.join(', ')}) values (${params.join(', ')})`;
  });
}

export function copyStatement(rel: RelationEntry): string {
  return `copy ${rel.qualified} (${rel.quotedColumns.join(', ')}) from stdin`;
}

/**
 * The WHERE clause that finds the old row. Key tables compare key columns
 * (their types always have equality). FULL tables compare every old value
 * through its text form, which also works for types without an equality
 * operator (json, point, ...); both sessions print values with the same
 * settings, so equal values have equal text.
 */
function whereClause(rel: RelationEntry, old: Tuple, firstParam: number): { sql: string; values: (string | null)[]; shape: string } {
  const parts: string[] = [];
  const values: (string | null)[] = [];
  let shape = '';
  let n = firstParam;
  const indexes = rel.full ? rel.columns.map((_, i) => i) : rel.keyIndexes;
  for (const i of indexes) {
    const v = old[i];
    if (v === undefined) {
      shape += 'u';
      continue; // unchanged TOAST value in an old tuple: not part of the comparison
    }
    if (rel.full) {
      if (v === null) {
        parts.push(`${rel.quotedColumns[i]} is null`);
        shape += 'n';
      } else {
        parts.push(`${rel.quotedColumns[i]}::text = $${n++}::text`);
        values.push(v);
        shape += 'v';
      }
    } else {
      parts.push(`${rel.quotedColumns[i]} = $${n++}`);
      values.push(v);
    }
  }
  return { sql: parts.join(' and ') || 'true', values, shape };
}

/** UPDATE, leaving unchanged TOAST columns out of the SET list (NOTES #5). */
export function updateStatement(rel: RelationEntry, oldTuple: Tuple, newTuple: Tuple): { stmt: Statement; values: (string | null)[] } {
  const setCols: number[] = [];
  let setShape = '';
  for (let i = 0; i < newTuple.length; i++) {
    if (newTuple[i] === undefined) setShape += '_';
    else {
      setCols.push(i);
      setShape += 's';
    }
  }
  const values: (string | null)[] = setCols.map((i) => newTuple[i] as string | null);
  const where = whereClause(rel, oldTuple, values.length + 1);
  values.push(...where.values);
  const stmt = cached(rel, `u.${setShape}.${where.shape}`, () => {
    const set = setCols.map((i, k) => `${rel.quotedColumns[i]} = $${k + 1}`).join(', ');
    if (rel.full) {
      // Several identical rows may exist without a key: change exactly one, as the source did.
      return (
        `update ${rel.qualified} set ${set} where (tableoid, ctid) = ` +
        `(select tableoid, ctid from ${rel.qualified} where ${where.sql} limit 1)`
      );
    }
    return `update ${rel.qualified} set ${set} where ${where.sql}`;
  });
  return { stmt, values };
}

export function deleteStatement(rel: RelationEntry, oldTuple: Tuple): { stmt: Statement; values: (string | null)[] } {
  const where = whereClause(rel, oldTuple, 1);
  const stmt = cached(rel, `d.${where.shape}`, () =>
    rel.full
      ? `delete from ${rel.qualified} where (tableoid, ctid) = (select tableoid, ctid from ${rel.qualified} where ${where.sql} limit 1)`
      : `delete from ${rel.qualified} where ${where.sql}`,
  );
  return { stmt, values: where.values };
}

/** The key of a change, for error messages: key columns (or every column for FULL) → text. */
export function describeKey(rel: RelationEntry, tuple: Tuple): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const indexes = rel.full || !rel.keyIndexes.length ? rel.columns.map((_, i) => i) : rel.keyIndexes;
  for (const i of indexes) {
    const v = tuple[i];
    if (v === undefined) continue;
    out[rel.columns[i]!] = v !== null && v.length > 200 ? v.slice(0, 200) + '…' : v;
  }
  return out;
}
