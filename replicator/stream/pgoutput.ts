/**
 * pgoutput protocol version 1 decoder that keeps every column value in the
 * exact form PostgreSQL sent: no type parsers, no Date (microseconds
 * lost), no JSON.parse (big numbers lost). A tuple is an array in relation
 * column order whose entries are the value, `null` for SQL NULL, or
 * `undefined` for an unchanged TOAST value, which an UPDATE must leave out of
 * its SET list. A value is the text PostgreSQL sent, or, with binary transfer
 * (the `binary` option of START_REPLICATION), the bytes of the type's send
 * function as a 'latin1' string: one character per byte, so it is lossless,
 * compared and used as a map key like text, and written back to bytes by a
 * copy (RelationEntry.binary says which columns arrive so). Given an arena
 * (binary transfer), an insert of only binary values and NULLs is not turned
 * into strings at all: it is kept as a binary COPY row and its tuple decoded
 * from it on demand (copy-rows.ts). When changing this, read
 * replicator/docs/stream-client.md.
 *
 * https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 */
import type { Lsn } from '../lsn.js';
import { PG_EPOCH_MS } from '../pg-epoch.js';
import { binaryString, copyRowOf, CopyRowInsert, type CopyRowArena } from './copy-rows.js';

export type TupleValue = string | null | undefined;
export type Tuple = TupleValue[];

export type ReplicaIdentity = 'default' | 'nothing' | 'full' | 'index';

export interface RelationColumn {
  name: string;
  /** Part of the replica identity (primary key, identity index, or every column for FULL). */
  isKey: boolean;
  typeOid: number;
  typeMod: number;
}

export interface RelationMessage {
  tag: 'relation';
  relationOid: number;
  schema: string;
  name: string;
  replicaIdentity: ReplicaIdentity;
  columns: RelationColumn[];
}

export interface BeginMessage {
  tag: 'begin';
  /** LSN of the transaction's commit record ("final LSN"). */
  commitLsn: Lsn;
  /** Microseconds since 2000-01-01 UTC (a number: see Reader.micros). */
  commitTimeMicros: number;
  xid: number;
}

export interface CommitMessage {
  tag: 'commit';
  commitLsn: Lsn;
  /** End of the commit record: the position to acknowledge once applied. */
  endLsn: Lsn;
  /** Microseconds since 2000-01-01 UTC. */
  commitTimeMicros: number;
}

/** An insert; with binary transfer it may be a CopyRowInsert, which also has the row's COPY bytes (copy-rows.ts). */
export interface InsertMessage {
  tag: 'insert';
  relationOid: number;
  readonly newTuple: Tuple;
}

export interface UpdateMessage {
  tag: 'update';
  relationOid: number;
  /** Old key ('K', when the key changed) or whole old row ('O', REPLICA IDENTITY FULL). */
  oldTuple: Tuple | null;
  oldKind: 'key' | 'full' | null;
  newTuple: Tuple;
}

export interface DeleteMessage {
  tag: 'delete';
  relationOid: number;
  oldTuple: Tuple;
  oldKind: 'key' | 'full';
}

export interface TruncateMessage {
  tag: 'truncate';
  relationOids: number[];
  cascade: boolean;
  restartIdentity: boolean;
}

/**
 * A type message ('Y'): sent before a relation message that uses a type
 * outside PostgreSQL's built-in catalog (OID 10000 and up), naming it; the
 * built-in types have the same OIDs on every cluster.
 */
export interface TypeMessage {
  tag: 'type';
  typeOid: number;
  schema: string;
  name: string;
}

export interface OtherMessage {
  tag: 'origin' | 'message';
}

export type PgoutputMessage =
  | BeginMessage
  | CommitMessage
  | RelationMessage
  | InsertMessage
  | UpdateMessage
  | DeleteMessage
  | TruncateMessage
  | TypeMessage
  | OtherMessage;

function truncated(bytes: number): Error {
  return new Error(`pgoutput: message of ${bytes} bytes ends inside a field`);
}

/**
 * Reads one message, bytes `start` to `end` of `buf` (which may hold other
 * messages around it: every read checks `end`, never `buf.length`).
 */
class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    private readonly start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }
  private truncated(): Error {
    return truncated(this.end - this.start);
  }
  /** Position of `n` more bytes, which must be in the message; the position moves past them. */
  private take(n: number): number {
    const p = this.pos;
    if (n < 0 || p + n > this.end) throw this.truncated();
    this.pos = p + n;
    return p;
  }
  u8(): number {
    return this.buf[this.take(1)]!;
  }
  i16(): number {
    return this.buf.readInt16BE(this.take(2));
  }
  i32(): number {
    return this.buf.readInt32BE(this.take(4));
  }
  u32(): number {
    return this.buf.readUInt32BE(this.take(4));
  }
  u64(): bigint {
    return this.buf.readBigUInt64BE(this.take(8));
  }
  /**
   * A timestamp (signed 64-bit microseconds since 2000-01-01) as a number: exact up to 2^53 µs, the year
   * 2285. Two per source transaction (begin and commit): read as a number 20–24 ns, as a BigInt 54–58 ns
   * (micro-benchmark; too little to show in the benchmark's spread, and nothing needs a BigInt here).
   */
  micros(): number {
    const p = this.take(8);
    return this.buf.readInt32BE(p) * 2 ** 32 + this.buf.readUInt32BE(p + 4);
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0 || end >= this.end) throw new Error('pgoutput: unterminated string');
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  text(len: number): string {
    const p = this.take(len);
    // Buffer's own slicer: what toString('utf8', start, end) calls after looking up the encoding,
    // once per value here (the decoder's largest own cost in the profiles).
    return (this.buf as unknown as Slicers).utf8Slice(p, p + len);
  }
  /** A binary value: its bytes as a 'latin1' string, one character per byte. */
  bytes(len: number): string {
    return binaryString(this.buf, this.take(len), len);
  }
  /** The tuple here as a binary COPY row in `arena` (copy-rows.ts), or null when it has a text value. */
  copyRow(relationOid: number, arena: CopyRowArena): CopyRowInsert | null {
    const row = copyRowOf(this.buf, this.pos, this.end, arena);
    if (row === 'text') return null;
    if (row === 'cut') throw this.truncated();
    this.pos = row.next;
    return new CopyRowInsert(relationOid, row.slab, row.start, row.end);
  }
}

interface Slicers {
  utf8Slice(start: number, end: number): string;
}

const identities: Record<number, ReplicaIdentity> = { 0x64: 'default', 0x6e: 'nothing', 0x66: 'full', 0x69: 'index' };

function readTuple(r: Reader): Tuple {
  const n = r.i16();
  const out: Tuple = new Array(n);
  for (let i = 0; i < n; i++) {
    const kind = r.u8();
    switch (kind) {
      case 0x74: // 't' text
        out[i] = r.text(r.i32());
        break;
      case 0x62: // 'b' binary (binary transfer, a type with a send function): its bytes, one character each
        out[i] = r.bytes(r.i32());
        break;
      case 0x6e: // 'n' null
        out[i] = null;
        break;
      case 0x75: // 'u' unchanged TOAST value
        out[i] = undefined;
        break;
      default:
        throw new Error(`pgoutput: unknown tuple data kind 0x${kind.toString(16)}`);
    }
  }
  return out;
}

/**
 * Decode one pgoutput message: bytes `start` to `end` of `buf` (an XLogData
 * payload starts after its 25-byte header; the socket's chunk may hold other
 * messages around it). With `arena` (binary transfer), an
 * insert whose values are all binary or NULL is kept as a COPY row there
 * (copy-rows.ts).
 */
export function decodePgoutput(buf: Buffer, start = 0, end = buf.length, arena?: CopyRowArena): PgoutputMessage {
  const r = new Reader(buf, start, end);
  const tag = r.u8();
  switch (tag) {
    case 0x42: {
      // 'B'
      const commitLsn = r.u64() as Lsn;
      const commitTimeMicros = r.micros();
      const xid = r.u32();
      return { tag: 'begin', commitLsn, commitTimeMicros, xid };
    }
    case 0x43: {
      // 'C'
      r.u8(); // flags (unused)
      const commitLsn = r.u64() as Lsn;
      const endLsn = r.u64() as Lsn;
      const commitTimeMicros = r.micros();
      return { tag: 'commit', commitLsn, endLsn, commitTimeMicros };
    }
    case 0x52: {
      // 'R'
      const relationOid = r.u32();
      const schema = r.cstring();
      const name = r.cstring();
      const ident = r.u8();
      const replicaIdentity = identities[ident];
      if (!replicaIdentity) throw new Error(`pgoutput: unknown replica identity ${ident}`);
      const n = r.i16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) {
        const flags = r.u8();
        const colName = r.cstring();
        const typeOid = r.u32();
        const typeMod = r.i32();
        columns.push({ name: colName, isKey: (flags & 1) === 1, typeOid, typeMod });
      }
      return { tag: 'relation', relationOid, schema, name, replicaIdentity, columns };
    }
    case 0x49: {
      // 'I'
      const relationOid = r.u32();
      r.u8(); // 'N'
      return (arena && r.copyRow(relationOid, arena)) || { tag: 'insert', relationOid, newTuple: readTuple(r) };
    }
    case 0x55: {
      // 'U'
      const relationOid = r.u32();
      let sub = r.u8();
      let oldTuple: Tuple | null = null;
      let oldKind: 'key' | 'full' | null = null;
      if (sub === 0x4b || sub === 0x4f) {
        oldKind = sub === 0x4b ? 'key' : 'full';
        oldTuple = readTuple(r);
        sub = r.u8();
      }
      if (sub !== 0x4e) throw new Error(`pgoutput: unexpected update submessage 0x${sub.toString(16)}`);
      return { tag: 'update', relationOid, oldTuple, oldKind, newTuple: readTuple(r) };
    }
    case 0x44: {
      // 'D'
      const relationOid = r.u32();
      const sub = r.u8();
      if (sub !== 0x4b && sub !== 0x4f) throw new Error(`pgoutput: unexpected delete submessage 0x${sub.toString(16)}`);
      return { tag: 'delete', relationOid, oldKind: sub === 0x4b ? 'key' : 'full', oldTuple: readTuple(r) };
    }
    case 0x54: {
      // 'T'
      const n = r.i32();
      const flags = r.u8();
      const relationOids: number[] = [];
      for (let i = 0; i < n; i++) relationOids.push(r.u32());
      return { tag: 'truncate', relationOids, cascade: (flags & 1) !== 0, restartIdentity: (flags & 2) !== 0 };
    }
    case 0x4f: // 'O' origin
      return { tag: 'origin' };
    case 0x59: {
      // 'Y' type
      const typeOid = r.u32();
      const schema = r.cstring();
      const name = r.cstring();
      return { tag: 'type', typeOid, schema, name };
    }
    case 0x4d: // 'M' logical decoding message
      return { tag: 'message' };
    default:
      throw new Error(`pgoutput: unknown message type 0x${tag.toString(16)}`);
  }
}

export function dateToPgMicros(d: number): bigint {
  return BigInt(d - PG_EPOCH_MS) * 1000n;
}
