/**
 * Execution logs in GCS (emulator on loopback): time from a line written on
 * the executing member to the line being readable through another member
 * (checkpoint visibility), with the default checkpoint settings.
 */
import { Storage } from '@google-cloud/storage';
import { silentLogger } from '../../server/log.js';
import { GcsLogStore } from '../../server/logs/gcs/store.js';
import { logTime } from '../../server/logs/store.js';
import { startGcs } from '../harness/gcs.js';
import { tempDir } from '../harness/tmp.js';
import { percentile, type BenchGroup } from './report.js';

const WRITERS = 20;
const LINE_EVERY_MS = 100;
const DURATION_MS = 20_000;
const POLL_MS = 50;

const bench: BenchGroup = async (report) => {
  const teardowns: Array<() => unknown> = [];
  const t = { teardown: (fn: () => unknown) => void teardowns.unshift(fn) };
  try {
    const gcs = await startGcs(t, { buckets: ['logs'] });
    const member = async (name: string) => {
      const store = new GcsLogStore({
        bucket: new Storage(gcs.clientOptions({ retryOptions: { autoRetry: false }, timeout: 30_000 })).bucket('logs'),
        spoolDir: await tempDir(t, `bench-spool-${name}`),
        member: name,
        log: silentLogger,
        // default checkpointIntervalMs (1 s) and checkpointBytes (256 KiB)
      });
      t.teardown(() => store.close());
      await store.start();
      return store;
    };
    const writerMember = await member('a');
    const readerMember = await member('b');
    const keys = Array.from({ length: WRITERS }, (_, i) => `bench/exec-${i}.log`);
    const writers = await Promise.all(keys.map((k) => writerMember.open(k)));
    const writtenAt = new Map<string, number>();
    const latencies: number[] = [];
    let stop = false;
    report.progress(`${WRITERS} running executions, one line each per ${LINE_EVERY_MS} ms for ${DURATION_MS / 1000} s; member b tails every log every ${POLL_MS} ms`);

    const producing = writers.map(async (w, i) => {
      for (let n = 0; !stop; n++) {
        const text = `w${i} ${n}`;
        writtenAt.set(text, performance.now());
        w.append({ time: logTime(), level: 'NORMAL', step: '1', node: 'n', stream: 'stdout', text });
        await new Promise((r) => setTimeout(r, LINE_EVERY_MS));
      }
    });
    const offsets = keys.map(() => 0);
    const tailing = (async () => {
      while (!stop) {
        await Promise.all(
          keys.map(async (k, i) => {
            const r = await readerMember.read(k, offsets[i]!);
            const now = performance.now();
            for (const e of r.entries) {
              const at = writtenAt.get(e.text);
              if (at !== undefined) latencies.push(now - at);
            }
            offsets[i] = r.nextOffset;
          }),
        );
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    })();
    const started = Date.now();
    while (Date.now() - started < DURATION_MS) {
      await new Promise((r) => setTimeout(r, 5000));
      report.progress(`${Math.round((Date.now() - started) / 1000)} s: ${latencies.length} lines seen by member b`);
    }
    stop = true;
    await Promise.all([...producing, tailing]);
    await Promise.all(writers.map((w) => w.finish()));
    await writerMember.drain(30_000);

    latencies.sort((a, b) => a - b);
    report.figure('logs.checkpoint_visibility_p50_ms', percentile(latencies, 50), 'line written on member a → readable through member b (GCS emulator, default checkpoint settings)');
    report.figure('logs.checkpoint_visibility_p99_ms', percentile(latencies, 99), 'same, 99th percentile (target: under 2000 ms)');
    report.note(
      `Checkpoint visibility: ${WRITERS} running executions each writing a line every ${LINE_EVERY_MS} ms for ${DURATION_MS / 1000} s on member a; ` +
        `member b tails each log from the bucket every ${POLL_MS} ms (the poll interval is part of the figure). ` +
        `Default settings: checkpoint every 1 s or 256 KiB, spool flushed every 100 ms. ${latencies.length} lines measured. ` +
        'GCS is the harness emulator on loopback, so network latency to a real bucket is not included.',
    );
  } finally {
    for (const fn of teardowns) await fn();
  }
};

export default bench;
