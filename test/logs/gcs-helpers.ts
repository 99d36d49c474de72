/**
 * Shared setup of the GCS log store tests: an emulator bucket and "members"
 * (each a GcsLogStore with its own spool directory and its own client, as
 * separate job-server processes would have), closed at teardown.
 */
import { Storage } from '@google-cloud/storage';
import { type Logger } from '../../server/log.js';
import { GcsLogStore, type GcsLogStoreOptions } from '../../server/logs/gcs/store.js';
import { logTime, type LogEntry } from '../../server/logs/store.js';
import { startGcs, type TestGcs } from '../harness/gcs.js';
import { tempDir, type Teardown } from '../harness/tmp.js';
import { testLog } from '../harness/log.js';

export const BUCKET = 'tandem-logs';

export const entry = (text: string, node = 'n1'): LogEntry => ({ time: logTime(), level: 'NORMAL', step: '1', node, stream: 'stdout', text });

export { waitFor } from '../harness/wait.js';

export interface MemberOptions extends Partial<GcsLogStoreOptions> {
  name: string;
  spoolDir?: string;
  log?: Logger;
}

/** A client like production's (no library retries, short timeout) pointed at the emulator. */
export function client(gcs: TestGcs, timeoutMs = 2000): Storage {
  return gcs.storage({ retryOptions: { autoRetry: false }, timeout: timeoutMs });
}

export async function member(t: Teardown, gcs: TestGcs, o: MemberOptions): Promise<GcsLogStore> {
  const { name, spoolDir, log, ...rest } = o;
  const store = new GcsLogStore({
    bucket: client(gcs, o.requestTimeoutMs ?? 2000).bucket(BUCKET),
    prefix: 'logs/',
    spoolDir: spoolDir ?? (await tempDir(t, `spool-${name}`)),
    member: name,
    log: log ?? testLog,
    checkpointIntervalMs: 200,
    retryBaseMs: 50,
    retryMaxMs: 500,
    requestTimeoutMs: 2000,
    ...rest,
  });
  t.teardown(() => store.close());
  await store.start();
  return store;
}

export async function setup(t: Teardown): Promise<TestGcs> {
  return startGcs(t, { buckets: [BUCKET] });
}

/** Every line of a log as another member reads it, page by page. */
export async function readAll(store: GcsLogStore, key: string, maxBytes?: number): Promise<{ texts: string[]; complete: boolean; size: number }> {
  const texts: string[] = [];
  let offset = 0;
  for (;;) {
    const r = await store.read(key, offset, { maxBytes });
    texts.push(...r.entries.map((e) => e.text));
    if (r.nextOffset === offset) return { texts, complete: r.complete, size: offset };
    offset = r.nextOffset;
  }
}
