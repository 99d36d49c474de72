/**
 * Values in PostgreSQL's binary format (binary transfer, the default of
 * `tandem replicate`; `--text` turns it off). pgoutput then sends the value of every type with a send
 * function as that function's bytes; the decoder keeps them as a 'latin1'
 * string, one character per byte (pgoutput.ts). They go to the target
 * unchanged, read there by the type's receive function:
 * - as statement parameters: a Buffer, which node-pg binds in binary format;
 * - as COPY ... (FORMAT binary) rows: a field is a 32-bit length and the
 *   bytes, exactly as pgoutput framed it;
 * - as arrays for the set-based statements: the array's binary form
 *   (dimensions, element type OID, then each element framed the same way).
 * No value is parsed or printed on the way, so nothing depends on session
 * settings or text forms; and the walsender and the target skip the types'
 * text output and input, the cost binary transfer saves
 * (replicator/docs/performance.md, "Binary transfer").
 *
 * Values are turned into text only for people (error messages) and apply
 * hooks (printable()).
 */
import { CopyRowInsert, SHORT_VALUE } from '../stream/copy-rows.js';
import type { Tuple, TupleValue } from '../stream/pgoutput.js';

/** A value as a statement parameter: text, the bytes of a binary value, or NULL. */
export type Param = string | Buffer | null;

const NULL_LENGTH = -1;

/** Bytes of a field: its 32-bit length, then its bytes. */
function fieldSize(v: TupleValue): number {
  return v === null || v === undefined ? 4 : 4 + v.length;
}

/** Buffer's own 'latin1' writer (what `write(s, pos, 'latin1')` calls after looking up the encoding). */
interface Latin1Writer {
  latin1Write(s: string, offset: number, length: number): number;
}

/** Write a field at `pos` (a 'latin1' string is written as its bytes); returns the position after it. */
function writeField(buf: Buffer, pos: number, v: TupleValue): number {
  if (v === null || v === undefined) return buf.writeInt32BE(NULL_LENGTH, pos);
  const n = v.length;
  buf[pos] = n >>> 24;
  buf[pos + 1] = (n >>> 16) & 255;
  buf[pos + 2] = (n >>> 8) & 255;
  buf[pos + 3] = n & 255;
  pos += 4;
  if (n > SHORT_VALUE) return pos + (buf as unknown as Latin1Writer).latin1Write(v, pos, n);
  for (let j = 0; j < n; j++) buf[pos + j] = v.charCodeAt(j);
  return pos + n;
}

/** What a COPY ... (FORMAT binary) starts with: signature, flags (no OIDs) and header extension length. */
export const COPY_BINARY_START: Buffer = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
/** What it ends with: a field count of -1. */
export const COPY_BINARY_END: Buffer = Buffer.from([0xff, 0xff]);

/**
 * Rows of a COPY ... (FORMAT binary) (between COPY_BINARY_START and
 * COPY_BINARY_END), of every column or of the columns at `indexes` only. A row
 * is a tuple of values, or an insert that arrived as a COPY row
 * (stream/copy-rows.ts), whose bytes are copied as they are when every column
 * is written. Rows that arrived one after another lie next to each other in
 * memory: a piece that is one such run is returned without a copy (a COPY is
 * written in pieces of up to 2,000 rows / 2 MiB of values, change-buffer.ts).
 */
export function copyBinaryRows(rows: readonly (Tuple | CopyRowInsert)[], indexes?: number[]): Buffer {
  if (!indexes) {
    const run = oneRun(rows);
    if (run) return run;
  }
  const n = indexes ? indexes.length : rows.length ? columnCount(rows[0]!) : 0;
  let size = 0;
  for (const row of rows) {
    if (!indexes && row instanceof CopyRowInsert) {
      size += row.end - row.start;
      continue;
    }
    const tuple = row instanceof CopyRowInsert ? row.newTuple : row;
    size += 2;
    for (let k = 0; k < n; k++) size += fieldSize(tuple[indexes ? indexes[k]! : k]);
  }
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  // COPY rows adjacent in their slab are copied as one piece.
  let run: CopyRowInsert | null = null;
  let runEnd = 0;
  for (const row of rows) {
    if (!indexes && row instanceof CopyRowInsert) {
      if (run && row.slab === run.slab && row.start === runEnd) runEnd = row.end;
      else {
        if (run) pos += run.slab.copy(buf, pos, run.start, runEnd);
        run = row;
        runEnd = row.end;
      }
      continue;
    }
    if (run) pos += run.slab.copy(buf, pos, run.start, runEnd);
    run = null;
    const tuple = row instanceof CopyRowInsert ? row.newTuple : row;
    pos = buf.writeInt16BE(n, pos);
    for (let k = 0; k < n; k++) pos = writeField(buf, pos, tuple[indexes ? indexes[k]! : k]);
  }
  if (run) run.slab.copy(buf, pos, run.start, runEnd);
  return buf;
}

/** A row's column count. */
function columnCount(row: Tuple | CopyRowInsert): number {
  return row instanceof CopyRowInsert ? row.slab.readInt16BE(row.start) : row.length;
}

/** When `rows` are COPY rows lying one after another in one slab: their bytes (a view, not a copy). */
function oneRun(rows: readonly (Tuple | CopyRowInsert)[]): Buffer | null {
  const first = rows[0];
  if (!(first instanceof CopyRowInsert)) return null;
  let end = first.end;
  for (let i = 1; i < rows.length; i++) {
    const r = rows[i]!;
    if (!(r instanceof CopyRowInsert) || r.slab !== first.slab || r.start !== end) return null;
    end = r.end;
  }
  return first.slab.subarray(first.start, end);
}

/**
 * A one-dimensional array of binary values of the type with OID `elementOid`
 * (the target's: array_recv reads the elements with the declared type).
 */
export function binaryArray(elementOid: number, values: readonly TupleValue[]): Buffer {
  let size = 20;
  let hasNull = 0;
  for (const v of values) {
    size += fieldSize(v);
    if (v === null || v === undefined) hasNull = 1;
  }
  const buf = Buffer.allocUnsafe(size);
  let pos = buf.writeInt32BE(1, 0); // dimensions
  pos = buf.writeInt32BE(hasNull, pos);
  pos = buf.writeUInt32BE(elementOid >>> 0, pos);
  pos = buf.writeInt32BE(values.length, pos);
  pos = buf.writeInt32BE(1, pos); // lower bound
  for (const v of values) pos = writeField(buf, pos, v);
  return buf;
}

/** A binary value as a parameter. */
export function binaryParam(v: string | null): Buffer | null {
  return v === null ? null : Buffer.from(v, 'latin1');
}

/** Types whose binary form is their text in UTF-8 (the server encoding the replicator requires). */
const UTF8_TYPES = new Set(['text', 'varchar', 'bpchar', 'name', 'json', 'xml']);

/** Fixed-size types printable() decodes, by their exact size (another size means another type: shown as bytes). */
const FIXED = new Map<string, { size: number; print: (b: Buffer) => string }>(Object.entries({
  int2: { size: 2, print: (b) => String(b.readInt16BE(0)) },
  int4: { size: 4, print: (b) => String(b.readInt32BE(0)) },
  oid: { size: 4, print: (b) => String(b.readUInt32BE(0)) },
  int8: { size: 8, print: (b) => String(b.readBigInt64BE(0)) },
  bool: { size: 1, print: (b) => (b[0] ? 't' : 'f') },
  uuid: {
    size: 16,
    print: (b) => {
      const h = b.toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
  },
}));

/**
 * A binary value as PostgreSQL would print it, for the types error messages
 * and apply hooks meet in keys and hooked tables (integers, bool, uuid, text,
 * json, jsonb); any other type as its bytes in hex (`\x...`), which is what
 * it is. `type` is the column's qualified type name (`"pg_catalog"."int4"`).
 */
export function printable(type: string, v: string): string {
  const name = /^"pg_catalog"\."(\w+)"$/.exec(type)?.[1] ?? '';
  const b = Buffer.from(v, 'latin1');
  const fixed = FIXED.get(name);
  if (fixed && b.length === fixed.size) return fixed.print(b);
  if (UTF8_TYPES.has(name)) return b.toString('utf8');
  if (name === 'jsonb' && b[0] === 1) return b.subarray(1).toString('utf8'); // version byte 1, then the text
  return '\\x' + b.toString('hex');
}
