/**
 * Set-based apply of many small changes (row-at-a-time apply measured about
 * 14 times slower; when changing this, read replicator/docs/set-based-apply.md):
 * the changes of a group of source transactions to one table are
 * collected and sent as one DELETE and one UPDATE per column shape, each over
 * `unnest` of arrays, instead of one statement per row.
 *
 * Why reordering is safe here: a batch holds each key at most once (a change
 * to a key already in it first drains the batch, so the changes of one row
 * keep their source order); the table's key is its only unique or exclusion
 * constraint, and no trigger fires on applied rows (relation.ts `batchable`);
 * foreign keys are not checked under session_replication_role = replica. So
 * the final state does not depend on the order of changes to different rows.
 * Everything still happens inside the group's one target transaction:
 * readers see whole source transactions, and progress is recorded with them.
 *
 * Each statement returns the ordinal of every row it touched: a count short
 * of the batch means a row was missing on the target, and the ordinals name
 * which one in the error.
 *
 * The statements are unnamed: planned for each batch with its real size (a
 * cached generic plan would assume some fixed number of rows and could
 * choose to scan a large table).
 */
import type { Lsn } from '../lsn.js';
import type { Tuple } from '../stream/pgoutput.js';
import { binaryArray } from './binary-values.js';
import { overriding, writtenList, type RelationEntry } from './relation.js';

/** The source transaction a change came from (for error messages). */
export interface TxnRef {
  commitLsn: Lsn;
  xid: number;
}

export interface BatchRow {
  /** The tuple that identifies the row (old key, or the new tuple when the key did not change). */
  keyTuple: Tuple;
  tuple: Tuple;
  txn: TxnRef | null;
}

interface UpdateShape {
  setCols: number[];
  rows: BatchRow[];
}

/** The key of a row as one string (key columns are never NULL nor unchanged TOAST values). */
export function batchKey(rel: RelationEntry, tuple: Tuple): string {
  const idx = rel.keyIndexes;
  if (idx.length === 1) return tuple[idx[0]!] as string;
  let k = '';
  for (const i of idx) k += (tuple[i] as string) + '\0';
  return k;
}

export class TableBatch {
  private readonly keys = new Set<string>();
  readonly inserts: BatchRow[] = [];
  readonly deletes: BatchRow[] = [];
  readonly updates = new Map<string, UpdateShape>();

  constructor(readonly rel: RelationEntry) {}

  private keyOf(tuple: Tuple): string {
    return batchKey(this.rel, tuple);
  }

  /** True when none of `keys` is in the batch yet. */
  free(keys: string[]): boolean {
    for (const k of keys) if (this.keys.has(k)) return false;
    return true;
  }

  addInsert(tuple: Tuple, txn: TxnRef | null): void {
    this.keys.add(this.keyOf(tuple));
    this.inserts.push({ keyTuple: tuple, tuple, txn });
  }

  addDelete(old: Tuple, txn: TxnRef | null): void {
    this.keys.add(this.keyOf(old));
    this.deletes.push({ keyTuple: old, tuple: old, txn });
  }

  /**
   * An update: SET every written column the source sent, except GENERATED
   * ALWAYS identity columns (unchanged, see identityChanged) and, when the key
   * did not change, the key columns.
   */
  addUpdate(oldKey: Tuple | null, tuple: Tuple, txn: TxnRef | null): void {
    const rel = this.rel;
    const keyTuple = oldKey ?? tuple;
    this.keys.add(this.keyOf(keyTuple));
    if (oldKey) this.keys.add(this.keyOf(tuple));
    let shape = oldKey ? 'k' : '';
    const setCols: number[] = [];
    for (const i of rel.written) {
      const skip = tuple[i] === undefined || rel.identityAlways[i] || (!oldKey && rel.keyIndexes.includes(i));
      shape += skip ? '_' : 's';
      if (!skip) setCols.push(i);
    }
    let u = this.updates.get(shape);
    if (!u) this.updates.set(shape, (u = { setCols, rows: [] }));
    u.rows.push({ keyTuple, tuple, txn });
  }
}

/** A PostgreSQL array literal of text elements (every element quoted; NULL unquoted). */
export function textArray(values: readonly (string | null | undefined)[]): string {
  let s = '{';
  for (let i = 0; i < values.length; i++) {
    if (i) s += ',';
    const v = values[i];
    if (v === null || v === undefined) s += 'NULL';
    else s += '"' + (/["\\]/.test(v) ? v.replace(/["\\]/g, '\\$&') : v) + '"';
  }
  return s + '}';
}

/** Column `i` of `rows` as one array parameter: binary (binary-values.ts) or a text literal. */
function column(rel: RelationEntry, rows: BatchRow[], i: number, from: 'key' | 'tuple'): string | Buffer {
  const values = rows.map((r) => (from === 'key' ? r.keyTuple[i] : r.tuple[i]));
  return rel.binary[i] ? binaryArray(rel.typeOids[i]!, values) : textArray(values);
}

/**
 * A column of a base or enum type is sent as an array of its own type (the
 * elements parsed by the type's input function, as a single value would be);
 * others as text[] cast per value (see TargetColumn.plainArray).
 */
function typed(rel: RelationEntry, i: number): { param: string; ref: (col: string) => string } {
  const type = rel.types[i]!;
  if (!rel.plainArray[i]) return { param: 'text[]', ref: (col) => `${col}::${type}` };
  return { param: `${type}[]`, ref: (col) => col };
}

/** `t.key = u.kN`, compared as the column's compare type (a domain's base type, see type-properties.ts). */
function keyMatch(rel: RelationEntry, i: number, n: number): string {
  const cmp = rel.compareAs[i]!;
  const col = `t.${rel.quotedColumns[i]}`;
  if (cmp === rel.types[i]) return `${col} = ${typed(rel, i).ref(`u.k${n}`)}`;
  return `${col}::${cmp} = (${typed(rel, i).ref(`u.k${n}`)})::${cmp}`;
}

export interface BatchStatement {
  text: string;
  values: (string | Buffer)[];
}

/**
 * `insert ... select from unnest(values)`: the inserts of a set-based batch
 * too short for a COPY. Unlike a COPY it travels in a pipeline, so a small
 * streaming group (a few single-row transactions) reaches the target in one
 * round trip with its begin, progress record and commit.
 */
export function batchInsert(rel: RelationEntry, rows: BatchRow[]): BatchStatement {
  const params = rel.written.map((i, n) => `$${n + 1}::${typed(rel, i).param}`);
  const names = rel.written.map((_, n) => `c${n}`);
  const select = rel.written.map((i, n) => typed(rel, i).ref(`u.c${n}`));
  return {
    text: `insert into ${rel.qualified} (${writtenList(rel)})${overriding(rel)} select ${select.join(', ')} from unnest(${params.join(', ')}) as u(${names.join(', ')})`,
    values: rel.written.map((i) => column(rel, rows, i, 'tuple')),
  };
}

/** `delete ... using unnest(keys) ... returning ordinal` */
export function batchDelete(rel: RelationEntry, rows: BatchRow[]): BatchStatement {
  const k = rel.keyIndexes;
  const params = k.map((i, n) => `$${n + 1}::${typed(rel, i).param}`).join(', ');
  const names = k.map((_, n) => `k${n}`).join(', ');
  const match = k.map((i, n) => keyMatch(rel, i, n)).join(' and ');
  return {
    text: `delete from ${rel.qualified} as t using unnest(${params}) with ordinality as u(${names}, ord) where ${match} returning u.ord`,
    values: k.map((i) => column(rel, rows, i, 'key')),
  };
}

/** `update ... set col = u.col from unnest(keys, values) ... returning ordinal` */
export function batchUpdate(rel: RelationEntry, setCols: number[], rows: BatchRow[]): BatchStatement {
  const k = rel.keyIndexes;
  const params: string[] = [];
  const names: string[] = [];
  const values: (string | Buffer)[] = [];
  k.forEach((i, n) => {
    params.push(`$${params.length + 1}::${typed(rel, i).param}`);
    names.push(`k${n}`);
    values.push(column(rel, rows, i, 'key'));
  });
  setCols.forEach((i, n) => {
    params.push(`$${params.length + 1}::${typed(rel, i).param}`);
    names.push(`s${n}`);
    values.push(column(rel, rows, i, 'tuple'));
  });
  const set = setCols.map((i, n) => `${rel.quotedColumns[i]} = ${typed(rel, i).ref(`u.s${n}`)}`).join(', ');
  const match = k.map((i, n) => keyMatch(rel, i, n)).join(' and ');
  // Nothing to set (only unchanged TOAST or identity values): the rows must still exist.
  const text = set
    ? `update ${rel.qualified} as t set ${set} from unnest(${params.join(', ')}) with ordinality as u(${names.join(', ')}, ord) where ${match} returning u.ord`
    : `select u.ord from ${rel.qualified} as t join unnest(${params.join(', ')}) with ordinality as u(${names.join(', ')}, ord) on ${match}`;
  return { text, values };
}

/** The first row (in batch order) whose ordinal the statement did not return. */
export function firstMissing(rows: BatchRow[], returned: (string | null)[]): BatchRow | undefined {
  const seen = new Set(returned);
  for (let n = 0; n < rows.length; n++) if (!seen.has(String(n + 1))) return rows[n];
  return undefined;
}
