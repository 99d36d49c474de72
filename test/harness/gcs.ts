/**
 * startGcs(t, opts): a Google Cloud Storage JSON API emulator on a free
 * loopback port (see gcs/server.ts for what it speaks), stopped at the test's
 * teardown even when the test fails. Use it through the real client:
 *
 *   const gcs = await startGcs(t, { buckets: ['logs'] });
 *   const storage = gcs.storage();   // new Storage({ apiEndpoint: gcs.url, ... })
 *   gcs.faults.set({ status503: 2 }); // the next two requests answer 503
 */
import { Storage, type StorageOptions } from '@google-cloud/storage';
import { GcsEmulator } from './gcs/server.js';
import type { Counters, Faults, FaultSpec, RequestKind } from './gcs/faults.js';
import type { Teardown } from './tmp.js';

export type { Counters, FaultSpec, RequestKind };

export interface StartGcsOptions {
  /** Buckets created at start. */
  buckets?: string[];
  /** Fixed port (default: a free one). */
  port?: number;
  /** Split rewrites larger than this into several calls with a rewriteToken, as GCS may. */
  rewriteBytesPerCall?: number;
}

export interface TestGcs {
  /** `http://127.0.0.1:PORT`, the `apiEndpoint` for the client. */
  readonly url: string;
  readonly faults: Faults;
  readonly counters: Counters;
  /** The emulator itself (state inspection in tests). */
  readonly emulator: GcsEmulator;
  /** Options for `new Storage(...)` that reach this emulator without credentials. */
  clientOptions(extra?: StorageOptions): StorageOptions;
  /** A client for this emulator. */
  storage(extra?: StorageOptions): Storage;
  createBucket(name: string): void;
  /** Stops listening (clients get connection refused) and keeps the objects. */
  stop(): Promise<void>;
  /** Listens again on the same port with the same objects. */
  start(): Promise<void>;
}

export async function startGcs(t: Teardown, opts: StartGcsOptions = {}): Promise<TestGcs> {
  const emulator = new GcsEmulator();
  t.teardown(() => emulator.close());
  const url = await emulator.listen(opts.port ?? 0);
  const port = Number(new URL(url).port);
  for (const b of opts.buckets ?? []) emulator.state.createBucket(b);
  emulator.rewriteBytesPerCall = opts.rewriteBytesPerCall ?? 0;
  const clientOptions = (extra: StorageOptions = {}): StorageOptions => ({
    apiEndpoint: url,
    projectId: 'test',
    // A custom endpoint skips Google authentication unless asked for it.
    useAuthWithCustomEndpoint: false,
    ...extra,
  });
  return {
    url,
    faults: emulator.faults,
    counters: emulator.faults.counters,
    emulator,
    clientOptions,
    storage: (extra) => new Storage(clientOptions(extra)),
    createBucket: (name) => void emulator.state.createBucket(name),
    stop: () => emulator.close(),
    start: async () => void (await emulator.listen(port)),
  };
}
