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
import { formatLsn, type Lsn } from '../lsn.js';
import { CopyRowInsert } from '../stream/copy-rows.js';
import type { DeleteMessage, InsertMessage, Tuple, UpdateMessage } from '../stream/pgoutput.js';
import { binaryArray, type Param } from './binary-values.js';
import { onePerParameter, overriding, param, typedParam, writtenList, type RelationEntry } from './relation.js';

/** The source transaction a change came from (for error messages). */
export interface TxnRef {
  commitLsn: Lsn;
  xid: number;
}

/** A source transaction's commit LSN as printed (for error messages). */
export function txnLsn(txn: TxnRef | null): string | undefined {
  return txn ? formatLsn(txn.commitLsn) : undefined;
}

/** The source transactions from `first` to `last`, as an error names them: one commit LSN and xid, or the range of LSNs. */
export function txnRange(first: TxnRef | null, last: TxnRef | null): { commitLsn?: string; xid?: number } {
  if (first === last) return { commitLsn: txnLsn(first), xid: first?.xid };
  return { commitLsn: `${txnLsn(first)} to ${txnLsn(last)}` };
}

/** A change of one row, as the source sent it. */
export type RowChange = InsertMessage | UpdateMessage | DeleteMessage;

export interface BatchRow {
  /** The tuple that identifies the row (old key, or the new tuple when the key did not change). */
  readonly keyTuple: Tuple;
  readonly tuple: Tuple;
  readonly txn: TxnRef | null;
  /** An insert that arrived as a COPY row (copy-rows.ts): written to a COPY from its bytes. */
  readonly copyRow?: CopyRowInsert;
}

/** An insert waiting in a batch or a run: its values are decoded only if something reads them (a COPY does not). */
export class InsertRow implements BatchRow {
  /** A field, not a getter: read for every row of a COPY piece. */
  readonly copyRow: CopyRowInsert | undefined;

  constructor(
    private readonly change: InsertMessage,
    readonly txn: TxnRef | null,
  ) {
    this.copyRow = change instanceof CopyRowInsert ? change : undefined;
  }

  get tuple(): Tuple {
    return this.change.newTuple;
  }

  get keyTuple(): Tuple {
    return this.change.newTuple;
  }
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
  /**
   * The keys of the rows in the batch; null while it holds only inserts. Two inserts of one key cannot
   * meet in a batch without a change between them that removes the first row (the source's key is unique,
   * and that change builds the set), so an insert-only batch needs no keys: a bulk load computes none
   * (measured: the set was about 7 % of the Tandem process's CPU in a bulk catch-up).
   */
  private keys: Set<string> | null = null;
  readonly inserts: BatchRow[] = [];
  readonly deletes: BatchRow[] = [];
  readonly updates = new Map<string, UpdateShape>();
  /** Changes in the batch (bounded by RelationEntry.batchRowsLimit per statement). */
  size = 0;

  constructor(readonly rel: RelationEntry) {}

  private keyOf(tuple: Tuple): string {
    return batchKey(this.rel, tuple);
  }

  /** The key set, built from the inserts when the first other change arrives. */
  private keySet(): Set<string> {
    if (!this.keys) {
      this.keys = new Set();
      for (const r of this.inserts) this.keys.add(this.keyOf(r.tuple));
    }
    return this.keys;
  }

  /**
   * True when the rows a change touches are not in the batch yet: its row's
   * key, and the old key too when an update changes it.
   */
  free(change: RowChange): boolean {
    if (change.tag === 'insert') return !this.keys || !this.keys.has(this.keyOf(change.newTuple));
    const keys = this.keySet();
    if (change.tag === 'delete') return !keys.has(this.keyOf(change.oldTuple));
    return !keys.has(this.keyOf(change.newTuple)) && !(change.oldTuple && keys.has(this.keyOf(change.oldTuple)));
  }

  addInsert(change: InsertMessage, txn: TxnRef | null): void {
    this.size++;
    this.keys?.add(this.keyOf(change.newTuple));
    this.inserts.push(new InsertRow(change, txn));
  }

  addDelete(old: Tuple, txn: TxnRef | null): void {
    this.size++;
    this.keySet().add(this.keyOf(old));
    this.deletes.push({ keyTuple: old, tuple: old, txn });
  }

  /**
   * An update: SET every written column the source sent, except GENERATED
   * ALWAYS identity columns (unchanged, see identityChanged) and, when the key
   * did not change, the key columns.
   */
  addUpdate(oldKey: Tuple | null, tuple: Tuple, txn: TxnRef | null): void {
    const rel = this.rel;
    this.size++;
    const keyTuple = oldKey ?? tuple;
    const keys = this.keySet();
    keys.add(this.keyOf(keyTuple));
    if (oldKey) keys.add(this.keyOf(tuple));
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

/** A column a set-based statement reads from its rows, as `u.<name>`. */
interface SourceColumn {
  i: number;
  name: string;
  from: 'key' | 'tuple';
}

/** The rows of a set-based statement as a FROM item `u(<names>[, ord])`, its parameters, and how to refer to a column. */
interface RowSource {
  from: string;
  values: Param[];
  ref: (c: SourceColumn) => string;
}

/** Rows go as a VALUES list, one parameter per value, when a column needs it (relation.ts onePerParameter; bounded by RelationEntry.batchRowsLimit). */
function needsValuesList(rel: RelationEntry, columns: readonly number[]): boolean {
  return columns.some((i) => onePerParameter(rel.binary[i]!, rel.plainArray[i]!, rel.recvAs[i]!));
}

/** `rows` as `unnest` of one array per column, or as a VALUES list (needsValuesList); `ordinality` adds `ord`, the row's 1-based position. */
function rowSource(rel: RelationEntry, cols: SourceColumn[], rows: BatchRow[], ordinality: boolean): RowSource {
  const names = cols.map((c) => c.name).concat(ordinality ? ['ord'] : []).join(', ');
  if (!needsValuesList(rel, cols.map((c) => c.i))) {
    const params = cols.map((c, n) => `$${n + 1}::${typed(rel, c.i).param}`).join(', ');
    return {
      from: `unnest(${params})${ordinality ? ' with ordinality' : ''} as u(${names})`,
      values: cols.map((c) => column(rel, rows, c.i, c.from)),
      ref: (c) => typed(rel, c.i).ref(`u.${c.name}`),
    };
  }
  const values: Param[] = [];
  const tuples = rows.map((r, k) => {
    const fields = cols.map((c) => {
      values.push(param(rel, c.i, (c.from === 'key' ? r.keyTuple : r.tuple)[c.i] ?? null));
      return typedParam(rel, c.i, `$${values.length}`);
    });
    if (ordinality) fields.push(String(k + 1));
    return `(${fields.join(', ')})`;
  });
  return { from: `(values ${tuples.join(', ')}) as u(${names})`, values, ref: (c) => `u.${c.name}` };
}

/** `t.key = u.kN`, compared as the column's compare type (a domain's base type, see type-properties.ts). */
function keyMatch(rel: RelationEntry, src: RowSource, c: SourceColumn): string {
  const cmp = rel.compareAs[c.i]!;
  const col = `t.${rel.quotedColumns[c.i]}`;
  if (cmp === rel.types[c.i]) return `${col} = ${src.ref(c)}`;
  return `${col}::${cmp} = (${src.ref(c)})::${cmp}`;
}

export interface BatchStatement {
  text: string;
  values: Param[];
}

/**
 * `insert ... select from unnest(values)`: the inserts of a set-based batch
 * too short for a COPY. Unlike a COPY it travels in a pipeline, so a small
 * streaming group (a few single-row transactions) reaches the target in one
 * round trip with its begin, progress record and commit.
 */
export function batchInsert(rel: RelationEntry, rows: BatchRow[]): BatchStatement {
  const cols = rel.written.map((i, n): SourceColumn => ({ i, name: `c${n}`, from: 'tuple' }));
  const src = rowSource(rel, cols, rows, false);
  return {
    text: `insert into ${rel.qualified} (${writtenList(rel)})${overriding(rel)} select ${cols.map(src.ref).join(', ')} from ${src.from}`,
    values: src.values,
  };
}

/** `delete ... using unnest(keys) ... returning ordinal` */
export function batchDelete(rel: RelationEntry, rows: BatchRow[]): BatchStatement {
  const keys = rel.keyIndexes.map((i, n): SourceColumn => ({ i, name: `k${n}`, from: 'key' }));
  const src = rowSource(rel, keys, rows, true);
  const match = keys.map((c) => keyMatch(rel, src, c)).join(' and ');
  return { text: `delete from ${rel.qualified} as t using ${src.from} where ${match} returning u.ord`, values: src.values };
}

/** `update ... set col = u.col from unnest(keys, values) ... returning ordinal` */
export function batchUpdate(rel: RelationEntry, setCols: number[], rows: BatchRow[]): BatchStatement {
  const keys = rel.keyIndexes.map((i, n): SourceColumn => ({ i, name: `k${n}`, from: 'key' }));
  const sets = setCols.map((i, n): SourceColumn => ({ i, name: `s${n}`, from: 'tuple' }));
  const src = rowSource(rel, [...keys, ...sets], rows, true);
  const set = sets.map((c) => `${rel.quotedColumns[c.i]} = ${src.ref(c)}`).join(', ');
  const match = keys.map((c) => keyMatch(rel, src, c)).join(' and ');
  // Nothing to set (only unchanged TOAST or identity values): the rows must still exist.
  const text = set
    ? `update ${rel.qualified} as t set ${set} from ${src.from} where ${match} returning u.ord`
    : `select u.ord from ${rel.qualified} as t join ${src.from} on ${match}`;
  return { text, values: src.values };
}

/** The first row (in batch order) whose ordinal the statement did not return. */
export function firstMissing(rows: BatchRow[], returned: (string | null)[]): BatchRow | undefined {
  const seen = new Set(returned);
  for (let n = 0; n < rows.length; n++) if (!seen.has(String(n + 1))) return rows[n];
  return undefined;
}
