import t from 'tap';
import { createHash } from 'node:crypto';
import { appendFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import { tempDir } from '../harness/tmp.js';
import { waitFor } from '../harness/wait.js';
import { FsLogStore } from '../../server/logs/fs-store.js';
import { logTime, type LogEntry } from '../../server/logs/store.js';

const entry = (i: number, text = `line ${i}`): LogEntry => ({ time: logTime(), level: 'NORMAL', step: '1', node: 'localhost', stream: 'stdout', text });

t.test('append, tail from an offset, finish with size and checksum', async (t) => {
  const dir = await tempDir(t, 'fslog');
  const store = new FsLogStore({ dir, flushIntervalMs: 50 });
  t.teardown(() => store.close());
  const w = await store.open('ops/e1.log');
  for (let i = 0; i < 3; i++) w.append(entry(i));
  await w.flush();
  const first = await store.read('ops/e1.log', 0);
  t.same(first.entries.map((e) => e.text), ['line 0', 'line 1', 'line 2']);
  t.equal(first.complete, false, 'a running log is not complete');
  w.append(entry(3, 'ünïcode ✓'));
  // the timer flushes without an explicit flush
  const tail = await waitFor('the flush timer to write the new entry', async () => {
    const r = await store.read('ops/e1.log', first.nextOffset);
    return r.entries.length > 0 && r;
  }, 5000, 20);
  t.same(tail.entries.map((e) => e.text), ['ünïcode ✓'], 'tailing returns only the new entry, flushed by the timer');
  const info = await w.finish();
  const bytes = await readFile(path.join(dir, 'ops/e1.log'));
  t.equal(info.size, bytes.length);
  t.equal(info.sha256, createHash('sha256').update(bytes).digest('hex'));
  const end = await store.read('ops/e1.log', tail.nextOffset);
  t.same(end, { entries: [], nextOffset: info.size, complete: true }, 'reading at the end of a sealed log says complete');
  t.same(await store.stat('ops/e1.log'), info);
  await t.rejects(store.open('ops/e1.log'), { code: 'conflict' }, 'a sealed log cannot be reopened');
  t.rejects(store.read('../x', 0), { code: 'bad_request' }, 'keys cannot escape the directory');
  t.match(first.entries[0]!.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'times carry microseconds');
});

t.test('seal after a crash drops the torn last line and keeps the rest', async (t) => {
  const dir = await tempDir(t, 'fslog');
  const store = new FsLogStore({ dir });
  t.teardown(() => store.close());
  const w = await store.open('e2.log');
  w.append(entry(0));
  w.append(entry(1));
  await w.flush();
  await appendFile(path.join(dir, 'e2.log'), '{"time":"torn');
  const before = await store.read('e2.log', 0);
  t.equal(before.entries.length, 2, 'a reader never sees the torn line');
  const info = await store.seal('e2.log');
  t.equal(info.complete, true);
  const all = await store.read('e2.log', 0);
  t.same(all.entries.map((e) => e.text), ['line 0', 'line 1']);
  t.equal(all.complete, true);
  t.same(await store.seal('e2.log'), info, 'sealing twice is harmless');
});

t.test('small reads return whole lines; copyTo another store', async (t) => {
  const dir = await tempDir(t, 'fslog');
  const a = new FsLogStore({ dir: path.join(dir, 'a') });
  const b = new FsLogStore({ dir: path.join(dir, 'b') });
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const w = await a.open('x.log');
  for (let i = 0; i < 1000; i++) w.append(entry(i));
  const info = await w.finish();
  let offset = 0;
  const texts: string[] = [];
  for (;;) {
    const r = await a.read('x.log', offset, { maxBytes: 1000 });
    texts.push(...r.entries.map((e) => e.text));
    offset = r.nextOffset;
    if (r.complete) break;
  }
  t.equal(texts.length, 1000, 'paging with small reads returns every line once');
  t.equal(texts[999], 'line 999');
  const copied = await a.copyTo('x.log', b, 'y.log');
  t.same({ size: copied.size, sha256: copied.sha256, complete: copied.complete }, { size: info.size, sha256: info.sha256, complete: true }, 'the copy is byte-identical');
});

t.test('pendingBytes counts what is buffered and what is queued behind a write, until it is on disk', async (t) => {
  const dir = await tempDir(t, 'fslog');
  const store = new FsLogStore({ dir, batchBytes: 16 * 1024 });
  t.teardown(() => store.close());
  const w = await store.open('bp.log');
  for (let i = 0; i < 2000; i++) w.append(entry(i, 'x'.repeat(100)));
  // Batches were handed to the file already (batchBytes exceeded many times), but none can have completed
  // synchronously: they still count, so a producer pausing on pendingBytes really bounds memory.
  t.ok(w.pendingBytes > 200_000, `pending ${w.pendingBytes} bytes right after appending`);
  await w.flush();
  t.equal(w.pendingBytes, 0, 'nothing pending once flushed');
  const info = await w.finish();
  t.ok(info.size > 200_000);
});
