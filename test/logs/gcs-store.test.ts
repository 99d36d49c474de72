/**
 * GCS log store: spool-first writes, checkpoints readable from another
 * member, offsets, completion with size and checksum, seal and copy.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { FsLogStore } from '../../server/logs/fs-store.js';
import { tempDir } from '../harness/tmp.js';
import { BUCKET, client, entry, member, readAll, setup, waitFor } from './gcs-helpers.js';
import { expectNever } from '../harness/wait.js';

t.test('a running log is readable on another member through checkpoints; the final upload completes it', async (t) => {
  const gcs = await setup(t);
  const a = await member(t, gcs, { name: 'a', checkpointIntervalMs: 300 });
  const b = await member(t, gcs, { name: 'b' });
  const key = 'ops/e1.log';

  const w = await a.open(key);
  for (let i = 0; i < 5; i++) w.append(entry(`line ${i}`));
  await w.flush();
  const local = await a.read(key, 0);
  t.same(local.entries.map((e) => e.text), ['line 0', 'line 1', 'line 2', 'line 3', 'line 4'], 'the executing member reads its spool at once');
  t.equal(local.complete, false);

  const seen = await waitFor('the first checkpoint on member b', async () => {
    const r = await b.read(key, 0);
    return r.entries.length === 5 ? r : null;
  });
  t.equal(seen.complete, false, 'a checkpoint is not complete');
  const [meta] = await client(gcs).bucket(BUCKET).file('logs/ops/e1.log').getMetadata();
  t.equal(meta.metadata?.['tandem-complete'], 'false', 'object metadata marks the checkpoint');
  t.equal(meta.contentType, 'application/x-ndjson');

  // Tail from the offset b reached; more lines come through the next checkpoint.
  for (let i = 5; i < 8; i++) w.append(entry(`line ${i}`));
  const tail = await waitFor('the next checkpoint', async () => {
    const r = await b.read(key, seen.nextOffset);
    return r.entries.length === 3 ? r : null;
  });
  t.same(tail.entries.map((e) => e.text), ['line 5', 'line 6', 'line 7'], 'reading from an offset returns only the new lines');

  w.append(entry('last'));
  const info = await w.finish();
  t.equal(info.complete, true);
  await a.drain(10_000);
  const all = await readAll(b, key);
  t.equal(all.texts.length, 9);
  t.equal(all.complete, true, 'complete once the final upload landed');
  const [bytes] = await client(gcs).bucket(BUCKET).file('logs/ops/e1.log').download();
  t.equal(info.size, bytes.length, 'size of the final object');
  t.equal(info.sha256, createHash('sha256').update(bytes).digest('hex'), 'sha256 of the final object');
  t.same(await b.stat(key), info, 'stat from another member agrees');
  t.same(await a.stat(key), info, 'stat on the writer (spool dropped after the upload) agrees');
  t.same(a.spoolUsage(), { bytes: 0, limitBytes: 1024 ** 3, logs: 0, pendingUploads: 0, pendingBytes: 0, conflicts: [], lastError: null }, 'spool emptied');
  await t.rejects(a.open(key), { code: 'conflict' }, 'a complete log cannot be reopened');
  await t.rejects(b.open(key), { code: 'conflict' }, 'not on another member either');
});

t.test('checkpoints every M bytes, small reads end on whole lines, long lines', async (t) => {
  const gcs = await setup(t);
  const a = await member(t, gcs, { name: 'a', checkpointIntervalMs: 60_000, checkpointBytes: 10_000 });
  const b = await member(t, gcs, { name: 'b' });
  const w = await a.open('p/bytes.log');
  w.append(entry('x'.repeat(200)));
  await w.flush();
  // A bounded negative observation: for 300 ms (six ticks of the uploader,
  // tickMs 50 in server/logs/gcs/store.ts) no checkpoint may be uploaded.
  await expectNever('a checkpoint upload before the byte threshold or the interval', () => gcs.counters.servedByKind.upload > 0, 300);
  t.equal(gcs.counters.servedByKind.upload, 0, 'no checkpoint before the byte threshold or the interval');
  for (let i = 0; i < 100; i++) w.append(entry(`bulk ${i} ${'y'.repeat(100)}`));
  await w.flush();
  await waitFor('a checkpoint triggered by size', async () => (await b.read('p/bytes.log', 0)).entries.length === 101);
  const long = 'z'.repeat(5000);
  w.append(entry(long));
  w.append(entry('after the long line'));
  await w.finish();
  await a.drain(10_000);
  for (const store of [a, b]) {
    const r = await readAll(store, 'p/bytes.log', 1000);
    t.equal(r.texts.length, 103, 'paging with 1000-byte reads returns every line once');
    t.equal(r.texts[101], long, 'a line longer than maxBytes is returned whole');
    t.equal(r.complete, true);
  }
  const first = await b.read('p/bytes.log', 0, { maxBytes: 10 });
  t.equal(first.entries.length, 1, 'a tiny read still returns one whole line');
  await t.rejects(b.read('p/bytes.log', -1), { code: 'bad_request' });
  await t.rejects(b.read('../etc/passwd', 0), { code: 'bad_request' }, 'keys cannot climb out of the prefix');
  t.same(await b.read('p/missing.log', 0), { entries: [], nextOffset: 0, complete: false }, 'a missing log reads as empty');
  t.equal(await b.stat('p/missing.log'), null);
});

t.test('seal a log whose writer is gone; copy to a filesystem store', async (t) => {
  const gcs = await setup(t);
  const a = await member(t, gcs, { name: 'a' });
  const b = await member(t, gcs, { name: 'b' });
  const w = await a.open('p/crashed.log');
  for (let i = 0; i < 10; i++) w.append(entry(`before crash ${i}`));
  await w.flush();
  await waitFor('the checkpoint', async () => (await b.read('p/crashed.log', 0)).entries.length === 10);
  // Member a is gone (its writer never finishes); member b seals what the bucket has.
  const info = await b.seal('p/crashed.log');
  t.equal(info.complete, true);
  await b.drain(10_000);
  const c = await member(t, gcs, { name: 'c' });
  const r = await readAll(c, 'p/crashed.log');
  t.equal(r.texts.length, 10);
  t.equal(r.complete, true, 'sealed from another member');
  t.same(await b.seal('p/crashed.log'), info, 'sealing twice is harmless');

  const dir = await tempDir(t, 'fs-target');
  const fs = new FsLogStore({ dir });
  t.teardown(() => fs.close());
  const copied = await b.copyTo('p/crashed.log', fs);
  t.same(copied, info, 'the filesystem copy is byte-identical (same size and sha256)');
  // And back: filesystem to GCS.
  const back = await fs.copyTo('p/crashed.log', b, 'p/copied-back.log');
  t.equal(back.sha256, info.sha256);
  await b.drain(10_000);
  t.equal((await readAll(a, 'p/copied-back.log')).complete, true);

  // Sealing a log nobody wrote yields an empty complete log (as the filesystem store does).
  const empty = await b.seal('p/never.log');
  t.same({ size: empty.size, complete: empty.complete }, { size: 0, complete: true });
});

t.test('an upload whose answer was lost is recognised, not taken for a conflict', async (t) => {
  const gcs = await setup(t);
  const a = await member(t, gcs, { name: 'a' });
  const w = await a.open('p/lost.log');
  w.append(entry('one'));
  gcs.faults.set({ dropResponses: 1, only: ['upload'] });
  await w.flush();
  await waitFor('the dropped answer', () => gcs.counters.droppedResponses === 1);
  w.append(entry('two'));
  const info = await w.finish();
  await a.drain(10_000);
  t.same(a.spoolUsage().conflicts, [], 'no conflict');
  const [bytes] = await client(gcs).bucket(BUCKET).file('logs/p/lost.log').download();
  t.equal(createHash('sha256').update(bytes).digest('hex'), info.sha256, 'the final object has every line');
});
