/**
 * GCS log store: a member restarting with uploads still pending resumes them
 * from its spool; a stale writer never replaces a newer checkpoint.
 */
import t from 'tap';
import { appendFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../harness/tmp.js';
import { entry, member, readAll, setup, waitFor } from './gcs-helpers.js';

t.test('restart with pending uploads (and a torn last line) resumes them', async (t) => {
  const gcs = await setup(t);
  const spoolDir = await tempDir(t, 'spool-restart');
  const b = await member(t, gcs, { name: 'b' });
  const first = await member(t, gcs, { name: 'a', spoolDir });

  const done = await first.open('p/uploaded.log');
  done.append(entry('uploaded before the outage'));
  await done.finish();
  await first.drain(10_000);

  gcs.faults.set({ status503: 'always' });
  const finished = await first.open('p/finished.log');
  const running = await first.open('p/running.log');
  for (let i = 0; i < 50; i++) {
    finished.append(entry(`finished ${i}`));
    running.append(entry(`running ${i}`));
  }
  const finishedInfo = await finished.finish();
  await running.flush();
  await waitFor('uploads to be refused', () => gcs.counters.injected503 >= 2);
  await first.close(); // the member stops with both logs still only in its spool
  const files = (await readdir(spoolDir)).sort();
  t.same(files, ['p%2Ffinished.log.json', 'p%2Ffinished.log.log', 'p%2Frunning.log.json', 'p%2Frunning.log.log'], 'the spool holds the two pending logs');
  // A crash in the middle of a spool write leaves a torn line: it must be dropped, not uploaded.
  await appendFile(path.join(spoolDir, 'p%2Frunning.log.log'), '{"time":"2026-');

  // The member starts again while the bucket is still down.
  const again = await member(t, gcs, { name: 'a', spoolDir });
  const usage = again.spoolUsage();
  t.equal(usage.pendingUploads, 2, 'both logs are pending after the restart');
  const local = await readAll(again, 'p/running.log');
  t.equal(local.texts.length, 50, 'the restarted member serves the running log from its spool, torn line dropped');
  await t.rejects(b.read('p/finished.log', 0), { code: 'unavailable', status: 503 }, 'another member reading from the bucket gets a clear 503 meanwhile');

  gcs.faults.clear();
  await again.drain(20_000);
  t.equal(gcs.counters.servedByKind.upload, 3, 'the three logs were each uploaded once (nothing reached the bucket before)');
  const fin = await readAll(b, 'p/finished.log');
  t.equal(fin.texts.length, 50, 'the finished log was uploaded after the restart');
  t.equal(fin.complete, true);
  t.same(await b.stat('p/finished.log'), finishedInfo, 'with the size and checksum computed before the restart');
  const run = await readAll(b, 'p/running.log');
  t.equal(run.texts.length, 50, 'the running log was checkpointed after the restart');
  t.equal(run.complete, false, 'and is still running');

  // Start-up recovery reopens the running log on the same member, writes why it ends, and seals it.
  const w = await again.open('p/running.log');
  w.append(entry('closed at restart'));
  await w.finish();
  await again.drain(10_000);
  const end = await readAll(b, 'p/running.log');
  t.same(end.texts.slice(-2), ['running 49', 'closed at restart']);
  t.equal(end.complete, true);
  t.same(await readdir(spoolDir), [], 'the spool is empty once everything is uploaded');
});

t.test('a stale writer cannot replace a newer checkpoint (generation precondition)', async (t) => {
  const gcs = await setup(t);
  const a = await member(t, gcs, { name: 'a' });
  const b = await member(t, gcs, { name: 'b' });
  const reader = await member(t, gcs, { name: 'reader' });
  const key = 'p/contested.log';

  const wa = await a.open(key);
  wa.append(entry('a 1'));
  await wa.flush();
  await waitFor("a's checkpoint", async () => (await reader.read(key, 0)).entries.length === 1);

  // Member b takes the log over (as if a were gone): it starts from a's checkpoint.
  const wb = await b.open(key);
  wb.append(entry('b 1'));
  await wb.flush();
  await waitFor("b's checkpoint", async () => (await reader.read(key, 0)).entries.length === 2);

  // a is not gone after all: its next checkpoint must be refused.
  wa.append(entry('a 2 (stale)'));
  await wa.flush();
  await waitFor('a to detect the conflict', () => a.spoolUsage().conflicts.includes(key));
  t.same((await readAll(reader, key)).texts, ['a 1', 'b 1'], "b's checkpoint is intact");
  await t.rejects(wa.finish(), { code: 'conflict', message: /replaced in the bucket by another writer/ }, "a's writer reports the conflict");
  t.equal(a.spoolUsage().pendingUploads, 0, 'a stops uploading that log');

  wb.append(entry('b 2'));
  await wb.finish();
  await b.drain(10_000);
  const final = await readAll(reader, key);
  t.same(final.texts, ['a 1', 'b 1', 'b 2'], "the log is b's");
  t.equal(final.complete, true);
});
