/**
 * Copying one log object between every kind of store pair: GCS to GCS on
 * another endpoint (streamed, no rewrite possible), filesystem to GCS, GCS to
 * filesystem, filesystem to filesystem; checkpoints first, then the finished
 * log, each verified against the record's checksum.
 */
import t from 'tap';
import path from 'node:path';
import { FsLogStore } from '../../server/logs/fs-store.js';
import { copyOne, readVersion } from '../../replicator/objects/copy-one.js';
import type { CopyRequest } from '../../replicator/objects/sql/due-copies.js';
import type { LogStore } from '../../server/logs/store.js';
import { startGcs } from '../harness/gcs.js';
import { tempDir } from '../harness/tmp.js';
import { BUCKET, client, entry, member, readAll } from './gcs-helpers.js';
import { GcsLogStore } from '../../server/logs/gcs/store.js';
import { testLog } from '../harness/log.js';


const request = (key: string, info: { size: number; sha256: string; complete: boolean }): CopyRequest => ({
  key,
  executionId: '00000000-0000-0000-0000-000000000000',
  size: info.size,
  sha256: info.sha256,
  complete: info.complete,
  attempts: 0,
  mismatches: 0,
});

t.test('every pair of stores', async (t) => {
  const [gcsA, gcsB] = await Promise.all([startGcs(t, { buckets: ['tandem-logs'] }), startGcs(t, { buckets: ['tandem-logs'] })]);
  const dir = await tempDir(t, 'copy-fs');
  const fsA = new FsLogStore({ dir: path.join(dir, 'a'), flushIntervalMs: 20 });
  const fsB = new FsLogStore({ dir: path.join(dir, 'b'), flushIntervalMs: 20 });
  t.teardown(async () => {
    await fsA.close();
    await fsB.close();
  });
  const gA = await member(t, gcsA, { name: 'ga' });
  const gB = await member(t, gcsB, { name: 'gb' });
  const pairs: Array<[string, LogStore, LogStore]> = [
    ['gcs → gcs on another endpoint', gA, gB],
    ['filesystem → gcs', fsA, gB],
    ['gcs → filesystem', gA, fsB],
    ['filesystem → filesystem', fsA, fsB],
  ];
  for (const [name, source, target] of pairs) {
    await t.test(name, async (t) => {
      const key = `p/${name.replace(/\W+/g, '-')}.log`;
      const w = await source.open(key);
      for (let i = 0; i < 10; i++) w.append(entry(`line ${i}`));
      await w.flush();
      if (source === gA) await gA.drain(10_000);
      const checkpoint = (await readVersion(source, key))!;
      const cpInfo = (await source.stat(key))!;
      t.equal(cpInfo.complete, false);
      t.same(await copyOne(source, target, request(key, cpInfo)), { kind: 'done', how: 'stream' }, 'checkpoint copied');
      t.equal((await readVersion(target, key))!.data.length, checkpoint.data.length, 'target holds the checkpoint');

      for (let i = 10; i < 20; i++) w.append(entry(`line ${i}`));
      const info = await w.finish();
      if (source === gA) await gA.drain(10_000);
      t.same(await copyOne(source, target, request(key, info)), { kind: 'done', how: 'stream' }, 'finished log copied');
      if (target === gB) await gB.drain(10_000);
      t.same(await target.stat(key), info, 'the target has the same size, checksum and completeness');
      const texts = target === gB ? (await readAll(gB, key)).texts : (await target.read(key, 0)).entries.map((e) => e.text);
      t.same(texts, Array.from({ length: 20 }, (_, i) => `line ${i}`));
      const again = await copyOne(source, target, request(key, info));
      t.same(again, { kind: 'done', how: 'already' }, 'copying again is a no-op');
      const wrong = await copyOne(source, target, request(key, { ...info, sha256: 'a'.repeat(64) }));
      t.equal(wrong.kind, 'mismatch', 'a record naming other bytes is a mismatch');
    });
  }
});

t.test('server-side rewrite between buckets of one service; a lying object is caught and its copy removed', async (t) => {
  const gcs = await startGcs(t, { buckets: [BUCKET, 'passive'] });
  const source = await member(t, gcs, { name: 'src' });
  const target = new GcsLogStore({ bucket: client(gcs).bucket('passive'), prefix: 'logs/', spoolDir: await tempDir(t, 'spool-passive'), member: 'dst', log: testLog });
  t.teardown(() => target.close());
  t.ok(target.canRewriteFrom(source), 'same endpoint: rewrite possible');

  const w = await source.open('p/r.log');
  for (let i = 0; i < 50; i++) w.append(entry(`line ${i}`));
  const info = await w.finish();
  await source.drain(10_000);
  t.same(await copyOne(source, target, request('p/r.log', info)), { kind: 'done', how: 'rewrite' }, 'copied by rewrite');
  t.equal(gcs.counters.servedByKind.rewrite, 1);
  t.equal(gcs.counters.servedByKind.download, 1, 'only the copy was downloaded (to verify its bytes), not the source');
  t.same(await target.stat('p/r.log'), info);
  t.same(await copyOne(source, target, request('p/r.log', info)), { kind: 'done', how: 'rewrite' }, 'a second request rewrites again, harmlessly');
  t.same(await target.stat('p/r.log'), info);

  // An object whose metadata claims the record's checksum but whose bytes differ.
  await client(gcs).bucket(BUCKET).file('logs/p/liar.log').save('{"text":"not what the record says"}\n', {
    resumable: false,
    metadata: { metadata: { 'tandem-complete': 'true', 'tandem-sha256': info.sha256 } },
  });
  const verdict = await copyOne(source, target, request('p/liar.log', info));
  t.equal(verdict.kind, 'mismatch', `the copied bytes are hashed, so the lie is caught (${JSON.stringify(verdict)})`);
  const [exists] = await client(gcs).bucket('passive').file('logs/p/liar.log').exists();
  t.equal(exists, false, 'and the bad copy is not left in the passive bucket');
});
