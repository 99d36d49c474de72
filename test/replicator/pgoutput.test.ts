/**
 * The pgoutput decoder (replicator/stream/pgoutput.ts) and the replication
 * stream's CopyData framing (decodeCopyData in replicator/stream/connection.ts)
 * on byte fixtures, without a server. Fixtures follow PostgreSQL's
 * "Logical Replication Message Formats" (protocol version 1); two are spelled
 * out as bytes so that the fixture writer below is itself checked.
 *
 * The socket may cut a message anywhere: as node-postgres tests its parser,
 * a stream of CopyData messages is fed to node-pg's own Connection (the one
 * ReplicationConnection reads from) split at every offset, and must decode to
 * the same messages.
 */
import { PassThrough } from 'node:stream';
import t from 'tap';
import pg from 'pg';
import { CopyRowArena, CopyRowInsert } from '../../replicator/stream/copy-rows.js';
import { decodePgoutput, type InsertMessage, type PgoutputMessage } from '../../replicator/stream/pgoutput.js';
import { decodeCopyData, type ReplicationMessage } from '../../replicator/stream/connection.js';
import { CopyDataFramer, CopyDataFraming } from '../../replicator/stream/framing.js';
import type { Lsn } from '../../replicator/lsn.js';

/** Bytes in network order, written as the server writes them. */
class W {
  private parts: Buffer[] = [];
  u8(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }
  ch(c: string): this {
    return this.u8(c.charCodeAt(0));
  }
  i16(v: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(v);
    this.parts.push(b);
    return this;
  }
  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    this.parts.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v);
    this.parts.push(b);
    return this;
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(v);
    this.parts.push(b);
    return this;
  }
  cstr(s: string): this {
    this.parts.push(Buffer.from(s, 'utf8'), Buffer.from([0]));
    return this;
  }
  bytes(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  /** TupleData: 't' text, null for 'n', undefined for 'u' (unchanged TOAST), a Buffer for 'b' (binary). */
  tuple(values: (string | null | undefined | Buffer)[]): this {
    this.i16(values.length);
    for (const v of values) {
      if (v === null) this.ch('n');
      else if (v === undefined) this.ch('u');
      else if (Buffer.isBuffer(v)) this.ch('b').i32(v.length).bytes(v);
      else {
        const b = Buffer.from(v, 'utf8');
        this.ch('t').i32(b.length).bytes(b);
      }
    }
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

const lsn = (n: bigint) => n as Lsn;
const COMMIT_LSN = 0x0000_0001_0200_0a58n;
const END_LSN = 0x0000_0001_0200_0a88n;
const MICROS = 849_398_400_123_456n; // 2026-12-01T00:00:00.123456Z in microseconds since 2000-01-01
const MICROS_N = Number(MICROS);

const fixtures: Array<{ name: string; bytes: Buffer; want: PgoutputMessage }> = [
  {
    name: 'Begin',
    bytes: new W().ch('B').u64(COMMIT_LSN).u64(MICROS).u32(4_000_000_001).done(),
    want: { tag: 'begin', commitLsn: lsn(COMMIT_LSN), commitTimeMicros: MICROS_N, xid: 4_000_000_001 },
  },
  {
    name: 'Commit',
    bytes: new W().ch('C').u8(0).u64(COMMIT_LSN).u64(END_LSN).u64(MICROS).done(),
    want: { tag: 'commit', commitLsn: lsn(COMMIT_LSN), endLsn: lsn(END_LSN), commitTimeMicros: MICROS_N },
  },
  {
    name: 'Relation (default identity, a two-column key, a typmod, a non-ASCII name)',
    bytes: new W()
      .ch('R')
      .u32(16_385)
      .cstr('tandem')
      .cstr('größe')
      .ch('d')
      .i16(3)
      .u8(1).cstr('a').u32(23).i32(-1)
      .u8(1).cstr('b').u32(25).i32(-1)
      .u8(0).cstr('v').u32(1043).i32(36)
      .done(),
    want: {
      tag: 'relation',
      relationOid: 16_385,
      schema: 'tandem',
      name: 'größe',
      replicaIdentity: 'default',
      columns: [
        { name: 'a', isKey: true, typeOid: 23, typeMod: -1 },
        { name: 'b', isKey: true, typeOid: 25, typeMod: -1 },
        { name: 'v', isKey: false, typeOid: 1043, typeMod: 36 },
      ],
    },
  },
  {
    name: 'Relation (REPLICA IDENTITY FULL, no columns)',
    bytes: new W().ch('R').u32(7).cstr('s').cstr('t').ch('f').i16(0).done(),
    want: { tag: 'relation', relationOid: 7, schema: 's', name: 't', replicaIdentity: 'full', columns: [] },
  },
  {
    name: 'Insert: text values kept exactly, NULL, empty string, the string NULL, non-ASCII',
    bytes: new W().ch('I').u32(16_385).ch('N').tuple(['1.10', null, '', 'NULL', 'tab\there\n€ 😀', '{"a": 1}']).done(),
    want: { tag: 'insert', relationOid: 16_385, newTuple: ['1.10', null, '', 'NULL', 'tab\there\n€ 😀', '{"a": 1}'] },
  },
  {
    name: 'Update without old tuple, an unchanged TOAST value',
    bytes: new W().ch('U').u32(16_385).ch('N').tuple(['1', undefined, 'x']).done(),
    want: { tag: 'update', relationOid: 16_385, oldTuple: null, oldKind: null, newTuple: ['1', undefined, 'x'] },
  },
  {
    name: 'Update with the old key (K): key changed',
    bytes: new W().ch('U').u32(16_385).ch('K').tuple(['1', null, null]).ch('N').tuple(['2', 'b', undefined]).done(),
    want: { tag: 'update', relationOid: 16_385, oldTuple: ['1', null, null], oldKind: 'key', newTuple: ['2', 'b', undefined] },
  },
  {
    name: 'Update with the old row (O): REPLICA IDENTITY FULL',
    bytes: new W().ch('U').u32(9).ch('O').tuple(['1', 'old']).ch('N').tuple(['1', 'new']).done(),
    want: { tag: 'update', relationOid: 9, oldTuple: ['1', 'old'], oldKind: 'full', newTuple: ['1', 'new'] },
  },
  {
    name: 'Delete by key (K)',
    bytes: new W().ch('D').u32(16_385).ch('K').tuple(['1', 'a', null]).done(),
    want: { tag: 'delete', relationOid: 16_385, oldKind: 'key', oldTuple: ['1', 'a', null] },
  },
  {
    name: 'Delete by old row (O)',
    bytes: new W().ch('D').u32(9).ch('O').tuple(['1', 'old']).done(),
    want: { tag: 'delete', relationOid: 9, oldKind: 'full', oldTuple: ['1', 'old'] },
  },
  {
    name: 'Truncate CASCADE RESTART IDENTITY of two relations',
    bytes: new W().ch('T').i32(2).u8(3).u32(16_385).u32(4_294_967_295).done(),
    want: { tag: 'truncate', relationOids: [16_385, 4_294_967_295], cascade: true, restartIdentity: true },
  },
  {
    name: 'Truncate of one relation, no options',
    bytes: new W().ch('T').i32(1).u8(0).u32(12).done(),
    want: { tag: 'truncate', relationOids: [12], cascade: false, restartIdentity: false },
  },
  {
    name: 'Origin',
    bytes: new W().ch('O').u64(COMMIT_LSN).cstr('pg_16390').done(),
    want: { tag: 'origin' },
  },
  {
    name: 'Type',
    bytes: new W().ch('Y').u32(16_400).cstr('tandem').cstr('mood').done(),
    want: { tag: 'type', typeOid: 16_400, schema: 'tandem', name: 'mood' },
  },
  {
    name: 'Message (pg_logical_emit_message)',
    bytes: new W().ch('M').u8(1).u64(COMMIT_LSN).cstr('tandem').i32(5).bytes(Buffer.from('hello')).done(),
    want: { tag: 'message' },
  },
];

t.test('every message type decodes to its fields', async (t) => {
  for (const f of fixtures) t.same(decodePgoutput(f.bytes), f.want, f.name);
});

t.test('fixtures spelled out as bytes (the fixture writer agrees with the protocol page)', async (t) => {
  // Begin: 'B', final LSN 0/16B3748, commit time 0, xid 740.
  const begin = Buffer.from('42' + '00000000016b3748' + '0000000000000000' + '000002e4', 'hex');
  t.same(decodePgoutput(begin), { tag: 'begin', commitLsn: lsn(0x16b3748n), commitTimeMicros: 0, xid: 740 });
  // Insert into relation 16384: (1, NULL, 'ü'): 't' len 1 "1", 'n', 't' len 2 c3 bc.
  const insert = Buffer.from('49' + '00004000' + '4e' + '0003' + '74' + '00000001' + '31' + '6e' + '74' + '00000002' + 'c3bc', 'hex');
  t.same(decodePgoutput(insert), { tag: 'insert', relationOid: 16_384, newTuple: ['1', null, 'ü'] });
  t.same(new W().ch('I').u32(16_384).ch('N').tuple(['1', null, 'ü']).done(), insert);
});

t.test('commit times are read as numbers of microseconds, exactly, before 2000 too', async (t) => {
  // Exact up to 2^53 µs (the year 2285): a number, not a BigInt, per begin and commit (pgoutput.ts, Reader.micros).
  for (const v of [0n, 1n, MICROS, -1n, -MICROS, 2n ** 32n - 1n, 2n ** 32n, -(2n ** 32n), 2n ** 53n - 1n, -(2n ** 53n - 1n)]) {
    const m = decodePgoutput(new W().ch('C').u8(0).u64(COMMIT_LSN).u64(END_LSN).u64(BigInt.asUintN(64, v)).done()) as { commitTimeMicros: number };
    t.equal(m.commitTimeMicros, Number(v), `${v} µs`);
  }
});

t.test('a long value (over 64 KiB) and a value of only multi-byte characters keep every character', async (t) => {
  const long = 'x'.repeat(70_000) + '€';
  const m = decodePgoutput(new W().ch('I').u32(1).ch('N').tuple([long, '日本語']).done());
  t.same(m, { tag: 'insert', relationOid: 1, newTuple: [long, '日本語'] });
});

t.test('binary values (binary transfer) keep every byte, one character per byte, beside text values', async (t) => {
  const bytes = Buffer.from([0, 0xff, 0x80, 0xc3, 0xbc, 0x0a, 0x5c, 0x00]);
  const m = decodePgoutput(new W().ch('I').u32(1).ch('N').tuple([Buffer.from([0, 0, 0, 1]), bytes, 'ü', null]).done());
  t.same(m, { tag: 'insert', relationOid: 1, newTuple: ['\0\0\0\x01', '\0\xff\x80\xc3\xbc\n\\\0', 'ü', null] });
  const v = (m as { newTuple: string[] }).newTuple[1]!;
  t.same(Buffer.from(v, 'latin1'), bytes, 'the bytes come back exactly');
  t.throws(() => decodePgoutput(new W().ch('I').u32(1).ch('N').i16(1).ch('b').i32(9).bytes(Buffer.from([1, 2])).done()), /ends inside a field/, 'a cut binary value');
  t.throws(() => decodePgoutput(new W().ch('I').u32(1).ch('N').i16(1).ch('b').i32(8).bytes(Buffer.from([1, 2, 3, 4])).done()), /ends inside a field/, 'a cut 8-byte value');
  // 4- and 8-byte values are read another way than the others (pgoutput.ts, Reader.bytes): every length the same.
  for (const len of [0, 1, 3, 4, 5, 7, 8, 9, 16]) {
    const value = Buffer.from(Array.from({ length: len }, (_, i) => (i * 97 + 0xfe) & 255));
    const got = decodePgoutput(new W().ch('I').u32(1).ch('N').tuple([value]).done()) as { newTuple: string[] };
    t.same(Buffer.from(got.newTuple[0]!, 'latin1'), value, `a ${len}-byte value`);
  }
  const one = new W().ch('I').u32(7).ch('N').tuple([Buffer.from([9, 8, 7, 6])]).done();
  const framed = Buffer.concat([Buffer.from('header'), one, one]);
  t.same(decodePgoutput(framed, 6, 6 + one.length), { tag: 'insert', relationOid: 7, newTuple: ['\x09\x08\x07\x06'] }, 'a message read from the middle of its buffer');
});

t.test('with an arena, an insert of binary values and NULLs is kept as the bytes of a binary COPY row', async (t) => {
  const arena = new CopyRowArena();
  const value = Buffer.from([0, 0xff, 0x80, 0x0a, 0x5c, 0x00, 0x41, 0x42, 0x43]);
  const long = Buffer.alloc(40, 0xab); // past the byte-by-byte copy (copy-rows.ts SHORT_VALUE)
  const msg = new W().ch('I').u32(9).ch('N').tuple([Buffer.from([0, 0, 0, 1]), null, value, long]).done();
  const m = decodePgoutput(msg, 0, msg.length, arena);
  t.ok(m instanceof CopyRowInsert, 'a COPY row');
  const row = m as CopyRowInsert;
  const want = Buffer.concat([
    Buffer.from([0, 4]), // column count
    Buffer.from([0, 0, 0, 4, 0, 0, 0, 1]),
    Buffer.from([0xff, 0xff, 0xff, 0xff]), // NULL
    Buffer.from([0, 0, 0, 9]),
    value,
    Buffer.from([0, 0, 0, 40]),
    long,
  ]);
  t.same(row.slab.subarray(row.start, row.end), want, 'the tuple without its kind bytes, NULL as length -1');
  t.equal(row.relationOid, 9);
  t.same(row.newTuple, (decodePgoutput(msg) as InsertMessage).newTuple, 'its tuple is what the string decoder gives');
  t.same(row.newTuple, ['\0\0\0\x01', null, value.toString('latin1'), long.toString('latin1')]);

  const withText = new W().ch('I').u32(9).ch('N').tuple([Buffer.from([0, 0, 0, 1]), 'ü', null]).done();
  const plain = decodePgoutput(withText, 0, withText.length, arena);
  t.notOk(plain instanceof CopyRowInsert, 'a text value: decoded to strings');
  t.same(plain, { tag: 'insert', relationOid: 9, newTuple: ['\0\0\0\x01', 'ü', null] });
  t.ok(decodePgoutput(new W().ch('I').u32(9).ch('N').i16(0).done(), 0, undefined, arena) instanceof CopyRowInsert, 'no columns');

  // Cut inside the tuple (after tag, relation OID and 'N'): the decoder's own message, as without an arena.
  for (let cut = 1; cut < msg.length; cut++) t.throws(() => decodePgoutput(msg.subarray(0, cut), 0, cut, arena), cut >= 6 ? /ends inside a field/ : /./, `cut after ${cut} of ${msg.length} bytes`);
  // The same cuts with the buffer going on past the message's end (the socket's chunk holds the next messages): never read.
  for (let cut = 6; cut < msg.length; cut++) t.throws(() => decodePgoutput(msg, 0, cut, arena), /ends inside a field/, `cut after ${cut} of ${msg.length} bytes, more bytes after it`);
  t.throws(() => decodePgoutput(new W().ch('I').u32(1).ch('N').i16(1).ch('b').i32(-2).done(), 0, undefined, arena), /ends inside a field/, 'a negative length');

  const after = decodePgoutput(msg, 0, msg.length, arena) as CopyRowInsert;
  t.same(row.slab.subarray(row.start, row.end), want, 'a failed or text row leaves the rows before it as they were');
  t.equal(after.slab, row.slab, 'rows share a slab');
  const withOffset = decodePgoutput(Buffer.concat([Buffer.from('header'), msg, msg]), 6, 6 + msg.length, arena) as CopyRowInsert;
  t.same(withOffset.slab.subarray(withOffset.start, withOffset.end), want, 'a message read from the middle of its buffer');
});

t.test('the arena: rows one after another are adjacent, a slab is never written twice, a large row has its own buffer', async (t) => {
  const arena = new CopyRowArena();
  const rows: CopyRowInsert[] = [];
  for (let i = 0; i < 20_000; i++) {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(i));
    const msg = new W().ch('I').u32(1).ch('N').tuple([b, Buffer.from(`row ${i}`)]).done();
    rows.push(decodePgoutput(msg, 0, msg.length, arena) as CopyRowInsert);
    msg.fill(0); // the parser moves the next bytes into the same memory: the row is a copy
  }
  let adjacent = 0;
  for (let i = 1; i < rows.length; i++) if (rows[i]!.slab === rows[i - 1]!.slab && rows[i]!.start === rows[i - 1]!.end) adjacent++;
  const slabs = new Set(rows.map((r) => r.slab)).size;
  t.ok(slabs > 1, `${slabs} slabs used`);
  t.equal(adjacent, rows.length - slabs, 'every row follows the one before it, except the first of each slab');
  const wrong = rows.filter((r, i) => r.newTuple[0] !== Buffer.from(BigInt.asUintN(64, BigInt(i)).toString(16).padStart(16, '0'), 'hex').toString('latin1') || r.newTuple[1] !== `row ${i}`);
  t.equal(wrong.length, 0, 'every row still has its own values after the slabs filled');

  const big = Buffer.alloc(100_000, 7);
  const large = decodePgoutput(new W().ch('I').u32(1).ch('N').tuple([big]).done(), 0, undefined, arena) as CopyRowInsert;
  t.equal(large.start, 0, 'a row over 64 KiB starts a buffer of its own');
  t.same(Buffer.from(large.newTuple[0]!, 'latin1'), big);
  const next = decodePgoutput(new W().ch('I').u32(1).ch('N').tuple([Buffer.from([1, 2, 3, 4])]).done(), 0, undefined, arena) as CopyRowInsert;
  t.same(Buffer.from(large.newTuple[0]!, 'latin1'), big, 'and keeps it when the next row comes');
  t.same(next.newTuple, ['\x01\x02\x03\x04']);
});

t.test('what the decoder refuses, it refuses with a message naming it', async (t) => {
  t.throws(() => decodePgoutput(new W().ch('I').u32(1).ch('N').i16(1).ch('x').done()), /unknown tuple data kind 0x78/);
  t.throws(() => decodePgoutput(new W().ch('Z').done()), /unknown message type 0x5a/);
  t.throws(() => decodePgoutput(new W().ch('R').u32(1).cstr('s').cstr('t').ch('q').i16(0).done()), /unknown replica identity 113/);
  t.throws(() => decodePgoutput(new W().ch('U').u32(1).ch('X').done()), /unexpected update submessage 0x58/);
  t.throws(() => decodePgoutput(new W().ch('U').u32(1).ch('K').tuple(['1']).ch('K').done()), /unexpected update submessage 0x4b/);
  t.throws(() => decodePgoutput(new W().ch('D').u32(1).ch('N').tuple(['1']).done()), /unexpected delete submessage 0x4e/);
  t.throws(() => decodePgoutput(Buffer.concat([new W().ch('R').u32(1).done(), Buffer.from('no terminator')])), /unterminated string/);
});

t.test('a truncated message is an error, never a shorter value', async (t) => {
  const insert = new W().ch('I').u32(1).ch('N').tuple(['hello', null, 'wörld']).done();
  for (let cut = 1; cut < insert.length; cut++) {
    t.throws(() => decodePgoutput(insert.subarray(0, cut)), `cut after ${cut} of ${insert.length} bytes`);
  }
  t.throws(() => decodePgoutput(Buffer.alloc(0)), 'an empty payload');
});

t.test('a message is read from its start to its end, whatever the buffer holds around it', async (t) => {
  // The framer passes the socket's chunk with the message's offsets: bytes before and after belong to other messages.
  const before = Buffer.from('before');
  const after = Buffer.alloc(64, 0x41); // no NUL: a string running past the end would find no terminator here either
  for (const f of fixtures) {
    const buf = Buffer.concat([before, f.bytes, after]);
    t.same(decodePgoutput(buf, before.length, before.length + f.bytes.length), f.want, `${f.name}, between other bytes`);
    // Cut anywhere: an error, as with nothing after it, never a value completed from the next message's bytes.
    let refused = 0;
    for (let cut = 1; cut < f.bytes.length; cut++) {
      try {
        decodePgoutput(buf, before.length, before.length + cut);
      } catch {
        refused++;
      }
    }
    const alone = Array.from({ length: f.bytes.length - 1 }, (_, i) => i + 1).filter((cut) => {
      try {
        decodePgoutput(f.bytes.subarray(0, cut));
        return false;
      } catch {
        return true;
      }
    }).length;
    t.equal(refused, alone, `${f.name}: every cut refused with more bytes after it, as without (${alone} of ${f.bytes.length - 1})`);
  }
  const name = new W().ch('Y').u32(1).cstr('s').cstr('t').done();
  const cutInName = Buffer.concat([name.subarray(0, name.length - 2), Buffer.from([0x61, 0])]);
  t.throws(() => decodePgoutput(cutInName, 0, name.length - 2), /unterminated string/, "a string whose terminator lies past the message's end");
});

/** XLogData ('w') around a pgoutput message. */
function xlogData(walStart: bigint, payload: Buffer): Buffer {
  return new W().ch('w').u64(walStart).u64(walStart + 100n).u64(MICROS).bytes(payload).done();
}
function keepalive(walEnd: bigint, reply: boolean): Buffer {
  return new W().ch('k').u64(walEnd).u64(MICROS).u8(reply ? 1 : 0).done();
}
/** A CopyData payload on its own in its buffer. */
function whole(payload: Buffer): ReplicationMessage {
  return decodeCopyData(payload, 0, payload.length);
}
/** The wire form: CopyData 'd' + length (itself included) + payload. */
function copyData(payload: Buffer): Buffer {
  return new W().ch('d').i32(payload.length + 4).bytes(payload).done();
}

t.test('CopyData payloads: XLogData and keepalives', async (t) => {
  t.same(whole(xlogData(COMMIT_LSN, fixtures[0]!.bytes)), { kind: 'data', msg: fixtures[0]!.want });
  t.same(whole(keepalive(END_LSN, true)), { kind: 'keepalive', walEnd: lsn(END_LSN), replyRequested: true });
  t.same(whole(keepalive(END_LSN, false)), { kind: 'keepalive', walEnd: lsn(END_LSN), replyRequested: false });
  t.throws(() => whole(Buffer.from('w0000', 'latin1')), /shorter than its 25-byte header/);
  t.throws(() => whole(keepalive(END_LSN, true).subarray(0, 17)), /shorter than 18/);
  t.throws(() => whole(Buffer.from('r')), /unknown replication message 0x72/);
  t.throws(() => whole(Buffer.alloc(0)), /unknown replication message/, 'an empty payload');
  // Between other messages' bytes, as the framer passes them: the same, and a cut one is still refused.
  const ka = keepalive(END_LSN, true);
  const around = Buffer.concat([Buffer.from('xx'), ka, ka]);
  t.same(decodeCopyData(around, 2, 2 + ka.length), { kind: 'keepalive', walEnd: lsn(END_LSN), replyRequested: true });
  t.throws(() => decodeCopyData(around, 2, 2 + 17), /shorter than 18/);
});

/** A socket stand-in for node-pg's Connection: what is written to it is what the "server" sent. */
class FakeSocket extends PassThrough {
  setNoDelay(): void {}
  connect(): void {}
}

/** What reached the decoder or node-pg, in order: a decoded CopyData payload, or the name of a node-pg event. */
type Arrival = ReplicationMessage | string;

/**
 * Feed `wire` to node-pg's Connection in the given pieces, framed as
 * ReplicationConnection frames it (framing.ts): every CopyData payload
 * decoded, and the other messages as node-pg's events.
 */
async function throughPg(wire: Buffer, cuts: number[], expected: number): Promise<Arrival[]> {
  const socket = new FakeSocket();
  const con = new pg.Connection({ stream: socket } as unknown as ConstructorParameters<typeof pg.Connection>[0]);
  const out: Arrival[] = [];
  const all = new Promise<void>((resolve, reject) => {
    const arrived = (a: Arrival) => {
      out.push(a);
      if (out.length === expected) resolve();
    };
    const framing = new CopyDataFraming(con, (buf, start, end) => arrived(decodeCopyData(buf, start, end)), reject);
    for (const event of ['notice', 'copyDone', 'commandComplete', 'readyForQuery', 'copyData']) con.on(event, () => arrived(event));
    con.on('error', reject);
    (con as unknown as { connect(port: number, host: string): void }).connect(5432, '127.0.0.1');
    framing.interceptCopyData();
  });
  let at = 0;
  for (const cut of [...cuts, wire.length]) {
    // A copy, as a socket hands over a fresh buffer per read.
    socket.write(Buffer.from(wire.subarray(at, cut)));
    at = cut;
  }
  await all;
  socket.destroy();
  return out;
}

/** A server message other than CopyData: type byte, length, body. */
function serverMessage(type: string, body: Buffer): Buffer {
  return new W().ch(type).i32(body.length + 4).bytes(body).done();
}

t.test('the framer: node-pg gets whole messages, CopyData only before streaming; a message too short to be one is an error', async (t) => {
  const toPg: Buffer[] = [];
  const payloads: Buffer[] = [];
  const framer = new CopyDataFramer((b) => toPg.push(Buffer.from(b)), (b, start, end) => payloads.push(Buffer.from(b.subarray(start, end))));
  const ready = serverMessage('Z', Buffer.from('I'));
  const d1 = copyData(keepalive(END_LSN, false));
  const w = Buffer.concat([ready, d1]);
  framer.feed(w.subarray(0, 3));
  t.same(toPg, [], 'nothing while the first message is cut');
  framer.feed(w.subarray(3));
  t.same(Buffer.concat(toPg), w, 'before streaming every message goes to node-pg, CopyData too');
  t.same(payloads, []);
  toPg.length = 0;
  framer.interceptCopyData();
  const d2 = copyData(xlogData(COMMIT_LSN, fixtures[0]!.bytes));
  framer.feed(Buffer.concat([d2, ready, d2.subarray(0, 2)]));
  framer.feed(d2.subarray(2, 9));
  framer.feed(d2.subarray(9));
  t.same(payloads, [d2.subarray(5), d2.subarray(5)], 'streaming: each CopyData payload to the decoder, one of them sent in three pieces');
  t.same(toPg, [ready], 'and the rest to node-pg');
  t.throws(() => framer.feed(Buffer.from([0x5a, 0, 0, 0, 2, 0])), /impossible length 2/);
  const cut = new CopyDataFramer(() => undefined, () => undefined);
  cut.feed(Buffer.from([0x5a, 0, 0]));
  t.throws(() => cut.feed(Buffer.from([0, 3])), /impossible length 3/, 'also when the length arrives in pieces');
});

t.test('CopyData split at every offset reassembles to the same messages', async (t) => {
  const payloads = [
    xlogData(COMMIT_LSN, fixtures[0]!.bytes), // Begin
    xlogData(COMMIT_LSN + 1n, fixtures[2]!.bytes), // Relation
    keepalive(COMMIT_LSN + 2n, true),
    xlogData(COMMIT_LSN + 3n, fixtures[4]!.bytes), // Insert with multi-byte characters (a cut may fall inside one)
    xlogData(COMMIT_LSN + 4n, fixtures[6]!.bytes), // Update K with unchanged TOAST
    xlogData(COMMIT_LSN + 5n, fixtures[1]!.bytes), // Commit
  ];
  // A notice in the middle, and the end of the stream as the server sends it: node-pg gets those, in order.
  const notice = serverMessage('N', new W().ch('S').cstr('NOTICE').ch('M').cstr('hello').u8(0).done());
  const end = [serverMessage('c', Buffer.alloc(0)), serverMessage('C', new W().cstr('START_REPLICATION').done()), serverMessage('Z', Buffer.from('I'))];
  const wire = Buffer.concat([...payloads.slice(0, 3).map(copyData), notice, ...payloads.slice(3).map(copyData), ...end]);
  const decoded = payloads.map(whole);
  const want: Arrival[] = [...decoded.slice(0, 3), 'notice', ...decoded.slice(3), 'copyDone', 'commandComplete', 'readyForQuery'];
  t.equal(want.length, 10);

  let same = 0;
  for (let cut = 1; cut < wire.length; cut++) {
    const got = await throughPg(wire, [cut], want.length);
    if (t.same(got, want, `split at byte ${cut} of ${wire.length}`, { diagnostic: false })) same++;
  }
  t.equal(same, wire.length - 1, 'every two-piece split decodes the same');

  // Three pieces: every pair of cuts around the Insert's multi-byte text, and one byte at a time.
  const insertAt = copyData(payloads[0]!).length + copyData(payloads[1]!).length + copyData(payloads[2]!).length + notice.length;
  const insertEnd = insertAt + copyData(payloads[3]!).length;
  for (let a = insertAt; a < insertEnd; a += 3) {
    for (let b = a + 1; b < insertEnd; b += 5) {
      t.same(await throughPg(wire, [a, b], want.length), want, `split at ${a} and ${b}`, { diagnostic: false });
    }
  }
  const bytes = Array.from({ length: wire.length - 1 }, (_, i) => i + 1);
  t.same(await throughPg(wire, bytes, want.length), want, 'one byte at a time');
});
