/**
 * Resumable upload sessions: `POST …?uploadType=resumable` opens a session
 * (its URI is returned in `Location`), then `PUT` requests carry chunks with
 * `Content-Range: bytes A-B/TOTAL` (TOTAL `*` while unknown, `A-*` for "the
 * rest of the stream"). An unfinished upload is answered 308 with
 * `Range: bytes=0-N` (the bytes persisted so far), a status query is a PUT
 * with `Content-Range: bytes *\/TOTAL` and no body.
 */
import { randomUUID } from 'node:crypto';
import { badRequest, GcsError } from './errors.js';
import type { Preconditions, StoredObject } from './store.js';

export interface Session {
  id: string;
  bucket: string;
  name: string;
  contentType?: string;
  metadata?: Record<string, string>;
  pre: Preconditions;
  chunks: Buffer[];
  received: number;
  /** Set once the object is written; later PUTs answer with it. */
  result?: StoredObject;
}

export type ContentRange =
  | { kind: 'status'; total: number | undefined }
  | { kind: 'data'; first: number; last: number | undefined; total: number | undefined };

/** Parses the Content-Range forms listed at the top of this file. */
export function parseContentRange(header: string | undefined): ContentRange | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes (?:(\*)|(\d+)-(\d+|\*))\/(\d+|\*)$/.exec(header.trim());
  if (!m) throw badRequest(`Invalid Content-Range: ${header}`);
  const total = m[4] === '*' ? undefined : Number(m[4]);
  if (m[1]) return { kind: 'status', total };
  return { kind: 'data', first: Number(m[2]), last: m[3] === '*' ? undefined : Number(m[3]), total };
}

export class Sessions {
  private readonly sessions = new Map<string, Session>();

  open(bucket: string, name: string, pre: Preconditions, contentType?: string, metadata?: Record<string, string>): Session {
    const s: Session = { id: randomUUID().replace(/-/g, ''), bucket, name, pre, contentType, metadata, chunks: [], received: 0 };
    this.sessions.set(s.id, s);
    return s;
  }

  get(id: string | null): Session {
    const s = id ? this.sessions.get(id) : undefined;
    if (!s) throw new GcsError(404, 'notFound', 'No such upload session.');
    return s;
  }

  cancel(id: string | null): void {
    this.get(id);
    this.sessions.delete(id!);
  }

  /**
   * Appends a chunk. Bytes the session already holds (a client resending after
   * a lost answer) are skipped; a gap is refused. Returns whether the upload
   * is now complete.
   */
  append(s: Session, range: Extract<ContentRange, { kind: 'data' }>, body: Buffer): boolean {
    if (range.first > s.received) throw badRequest(`Content-Range starts at ${range.first} but the session holds ${s.received} bytes`);
    if (range.last !== undefined && range.last - range.first + 1 !== body.length) {
      throw badRequest(`Content-Range covers ${range.last - range.first + 1} bytes but the body has ${body.length}`);
    }
    const skip = s.received - range.first;
    if (skip < body.length) {
      s.chunks.push(body.subarray(skip));
      s.received += body.length - skip;
    }
    if (range.total !== undefined) {
      if (s.received > range.total) throw badRequest(`upload is longer than its declared size ${range.total}`);
      return s.received === range.total;
    }
    // `A-*/*`: the request body was the rest of the object.
    return range.last === undefined;
  }

  data(s: Session): Buffer {
    return Buffer.concat(s.chunks);
  }
}
