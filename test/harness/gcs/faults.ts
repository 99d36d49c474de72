/**
 * Fault injection and request counters, so that tests can drive the retry
 * paths of a GCS client: answer 503 (a number of times or always), hang
 * (accept the request and never answer until the fault is cleared or the
 * emulator stops), or drop the connection without an answer.
 */
import type { IncomingMessage } from 'node:http';

/** What a request does, for counters and for limiting faults to some operations. */
export type RequestKind =
  | 'bucket'
  | 'upload'
  | 'download'
  | 'metadata'
  | 'list'
  | 'rewrite'
  | 'copy'
  | 'compose'
  | 'delete'
  | 'patch'
  | 'other';

export interface FaultSpec {
  /** Answer 503 to the next n requests, or to every request. */
  status503?: number | 'always';
  /** Keep requests open without an answer until `clear()` (or the emulator stops). */
  hang?: boolean;
  /** Destroy the connection of the next n requests (or all) without an answer. */
  dropConnections?: number | 'always';
  /**
   * Carry out the next n requests (or all), then destroy the connection
   * instead of answering: the client cannot know the write happened.
   */
  dropResponses?: number | 'always';
  /** Only requests of these kinds are affected (default: all). */
  only?: RequestKind[];
  /** Serve this many matching requests normally before the faults start (e.g. fail the second chunk of an upload). */
  after?: number;
}

export interface Counters {
  /** Every request received, faulted or not. */
  requests: number;
  byKind: Record<RequestKind, number>;
  /** Requests answered normally (not faulted), by kind. */
  servedByKind: Record<RequestKind, number>;
  injected503: number;
  dropped: number;
  /** Requests carried out whose answers were dropped. */
  droppedResponses: number;
  hung: number;
}

const kinds: RequestKind[] = ['bucket', 'upload', 'download', 'metadata', 'list', 'rewrite', 'copy', 'compose', 'delete', 'patch', 'other'];
const zero = (): Record<RequestKind, number> => Object.fromEntries(kinds.map((k) => [k, 0])) as Record<RequestKind, number>;

export class Faults {
  private spec: FaultSpec = {};
  private hanging = new Set<IncomingMessage>();
  readonly counters: Counters = { requests: 0, byKind: zero(), servedByKind: zero(), injected503: 0, dropped: 0, droppedResponses: 0, hung: 0 };

  /** Replaces the active faults. */
  set(spec: FaultSpec): void {
    this.spec = { ...spec };
    if (!spec.hang) this.releaseHanging();
  }

  /** Removes every fault; hanging requests are answered by closing their connections (the client sees a reset and retries). */
  clear(): void {
    this.spec = {};
    this.releaseHanging();
  }

  resetCounters(): void {
    Object.assign(this.counters, { requests: 0, byKind: zero(), servedByKind: zero(), injected503: 0, dropped: 0, droppedResponses: 0, hung: 0 });
  }

  /** Whether any fault is active. */
  get active(): boolean {
    return Boolean(this.spec.hang || this.spec.status503 || this.spec.dropConnections || this.spec.dropResponses);
  }

  /**
   * Counts the request and applies a fault if one matches. Returns 'faulted'
   * when the request was taken care of and must not be served, 'dropResponse'
   * when it must be served but its answer replaced by a closed connection.
   */
  intercept(kind: RequestKind, req: IncomingMessage, send503: () => void): 'faulted' | 'dropResponse' | 'serve' {
    this.counters.requests++;
    this.counters.byKind[kind]++;
    const s = this.spec;
    if ((s.only && !s.only.includes(kind)) || (s.after !== undefined && s.after-- > 0)) {
      this.counters.servedByKind[kind]++;
      return 'serve';
    }
    if (s.hang) {
      this.counters.hung++;
      this.hanging.add(req);
      req.socket.once('close', () => this.hanging.delete(req));
      return 'faulted';
    }
    if (s.dropConnections) {
      if (typeof s.dropConnections === 'number') s.dropConnections--;
      this.counters.dropped++;
      req.socket.destroy();
      return 'faulted';
    }
    if (s.status503) {
      if (typeof s.status503 === 'number') s.status503--;
      this.counters.injected503++;
      send503();
      return 'faulted';
    }
    this.counters.servedByKind[kind]++;
    if (s.dropResponses) {
      if (typeof s.dropResponses === 'number') s.dropResponses--;
      this.counters.droppedResponses++;
      return 'dropResponse';
    }
    return 'serve';
  }

  private releaseHanging(): void {
    for (const req of this.hanging) req.socket.destroy();
    this.hanging.clear();
  }
}
