/**
 * Inserts kept as COPY rows. With binary transfer, an insert whose values are
 * all binary or NULL is decoded into the bytes of one `COPY ... (FORMAT
 * binary)` row instead of one string per value: pgoutput frames a tuple as a
 * column count, then per value a kind byte ('b' binary, 'n' NULL) and, for
 * 'b', a 32-bit length and the bytes; a binary COPY row is the same column
 * count, then per value the same length and bytes, or a length of -1 for
 * NULL. So the row is the tuple without its kind bytes, and a bulk load
 * reaches the target's COPY as a copy of the bytes it arrived in: no value
 * becomes a string, and a run of inserts that arrived one after another is one
 * contiguous piece of memory (apply/binary-values.ts copyBinaryRows). Measured
 * before this: building value strings and writing them back into COPY rows
 * was about a third of the Tandem process's CPU in a bulk catch-up
 * (replicator/docs/performance.md, "Inserts as COPY rows").
 *
 * The tuple (`newTuple`) is still there for whoever needs values (keys of a
 * set-based batch once it holds other changes, statements, error messages,
 * apply hooks): decoded from the row when first asked for, to exactly what the
 * string decoder gives (a binary value as a 'latin1' string, NULL as null).
 */
import type { InsertMessage, Tuple } from './pgoutput.js';

/** Bytes of a slab: big enough that a run of 2,000 rows of a usual table spans one or two of them. */
const SLAB_BYTES = 256 * 1024;
/** A row larger than this gets a buffer of its own (it would waste most of a slab). */
const OWN_BUFFER_BYTES = 64 * 1024;

/**
 * Where the rows are written: slabs of memory filled in order and never
 * written again, so a row's bytes stay valid as long as anything refers to
 * them, and consecutive rows are adjacent. One per replication connection
 * (the decoder itself keeps no state); a slab is freed by the garbage
 * collector once no row in it is referenced.
 */
export class CopyRowArena {
  /** The slab the last reserve() placed its bytes in. */
  slab: Buffer = Buffer.allocUnsafe(0);
  private used = 0;

  /** Room for `size` bytes: returns their start in `this.slab` (which may now be a new slab). */
  reserve(size: number): number {
    if (size > OWN_BUFFER_BYTES) {
      this.slab = Buffer.allocUnsafe(size);
      this.used = size; // the next row starts a new slab
      return 0;
    }
    if (this.used + size > this.slab.length) {
      this.slab = Buffer.allocUnsafe(SLAB_BYTES);
      this.used = 0;
    }
    const start = this.used;
    this.used += size;
    return start;
  }

  /** The last reserve() used `this.slab` only up to `end`: the rest goes to the next row. Returns `result`. */
  giveBack<R>(end: number, result: R): R {
    if (end <= this.used) this.used = end;
    return result;
  }
}

/** An insert kept as a binary COPY row: `slab` bytes `start` to `end`. */
export class CopyRowInsert implements InsertMessage {
  readonly tag = 'insert' as const;
  private tuple: Tuple | null = null;

  constructor(
    readonly relationOid: number,
    readonly slab: Buffer,
    readonly start: number,
    readonly end: number,
  ) {}

  /** The values, decoded from the row the first time they are asked for. */
  get newTuple(): Tuple {
    return (this.tuple ??= tupleOfCopyRow(this.slab, this.start));
  }
}

/**
 * A binary value's bytes as a 'latin1' string (one character per byte). The
 * 4- and 8-byte values (int4, int8, float8, timestamps, dates, ...) are most of
 * them: built in JavaScript they cost a quarter of a call into Buffer's slicer
 * (measured 10 against 42 ns a value).
 */
export function binaryString(b: Buffer, p: number, len: number): string {
  if (len === 8) return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!);
  if (len === 4) return String.fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!);
  return (b as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice(p, p + len);
}

function int32(b: Buffer, p: number): number {
  return (b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!;
}

/** The tuple of a binary COPY row written by copyRowOf (its bytes were checked then). */
function tupleOfCopyRow(b: Buffer, start: number): Tuple {
  const n = (b[start]! << 8) | b[start + 1]!;
  const out: Tuple = new Array(n);
  let p = start + 2;
  for (let i = 0; i < n; i++) {
    const len = int32(b, p);
    p += 4;
    if (len < 0) out[i] = null;
    else {
      out[i] = binaryString(b, p, len);
      p += len;
    }
  }
  return out;
}

/**
 * Values up to this many bytes are copied byte by byte: most are keys,
 * integers and timestamps of 4 to 16 bytes, for which a call into Buffer
 * (`copy`, or `write` with its encoding dispatch) costs more than the copy
 * (measured: building COPY rows was the largest own cost of the Tandem
 * process in binary transfer). Also apply/binary-values.ts writeField.
 */
export const SHORT_VALUE = 32;

/** Where copyRowOf wrote a row, and where the tuple ended in the message. */
export interface CopyRowExtent {
  slab: Buffer;
  start: number;
  end: number;
  /** Position in the message after the tuple. */
  next: number;
}

/**
 * The tuple at `buf[pos]` (pgoutput's framing, the message ending at `end`) as
 * a binary COPY row in `arena`, when every value is binary or NULL. 'text'
 * when a value is text or an unchanged TOAST value (the caller decodes the
 * tuple to strings); 'cut' when the tuple runs past `end` (the caller throws,
 * as the string decoder does).
 */
export function copyRowOf(buf: Buffer, pos: number, end: number, arena: CopyRowArena): CopyRowExtent | 'text' | 'cut' {
  if (pos + 2 > end) return 'cut';
  const n = (buf[pos]! << 8) | buf[pos + 1]!;
  // One pass, into room for the largest row the rest of the message can hold: each value loses its kind
  // byte, a NULL's one byte ('n') becomes four (length -1). What is not used is given back.
  const room = end - pos + 3 * n;
  const start = arena.reserve(room);
  const slab = arena.slab;
  slab[start] = buf[pos]!;
  slab[start + 1] = buf[pos + 1]!;
  let w = start + 2;
  let p = pos + 2;
  for (let i = 0; i < n; i++) {
    if (p >= end) return arena.giveBack(start, 'cut');
    const kind = buf[p]!;
    if (kind === 0x6e) {
      // 'n': length -1
      slab[w] = slab[w + 1] = slab[w + 2] = slab[w + 3] = 0xff;
      w += 4;
      p += 1;
      continue;
    }
    if (kind !== 0x62) return arena.giveBack(start, 'text');
    // 'b': the length and the bytes, as they are (the same framing without the kind byte).
    if (p + 5 > end) return arena.giveBack(start, 'cut');
    const len = int32(buf, p + 1);
    const field = 4 + len;
    p += 1;
    if (len < 0 || p + field > end) return arena.giveBack(start, 'cut');
    if (len <= SHORT_VALUE) for (let j = 0; j < field; j++) slab[w + j] = buf[p + j]!;
    else buf.copy(slab, w, p, p + field);
    w += field;
    p += field;
  }
  arena.giveBack(w, null);
  return { slab, start, end: w, next: p };
}
