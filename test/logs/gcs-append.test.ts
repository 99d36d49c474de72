/**
 * Checkpoints append: after the first upload of a running log, each
 * checkpoint sends only the new lines (a chunk composed onto the last
 * version), so a long log is not uploaded again and again. Another member
 * reads every checkpoint whole; the log is rewritten whole when its
 * component count reaches the limit; a failing compose loses nothing; the
 * switch turns it off.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { PART_SUFFIX } from '../../server/logs/gcs/objects.js';
import { BUCKET, client, entry, member, readAll, setup, waitFor } from './gcs-helpers.js';

t.test('checkpoints append the new lines with compose', async (t) => {
  const gcs = await setup(t);
  const writer = await member(t, gcs, { name: 'writer', checkpointIntervalMs: 60_000, checkpointBytes: 1, maxComponents: 4 });
  const reader = await member(t, gcs, { name: 'reader' });
  const object = client(gcs).bucket(BUCKET).file('logs/ops/long.log');
  const meta = async () => (await object.getMetadata())[0];

  const w = await writer.open('ops/long.log');
  const components: number[] = [];
  let lines = 0;
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 20; i++) w.append(entry(`round ${round} line ${i}`));
    lines += 20;
    // Each round becomes one checkpoint; wait until another member sees all of it.
    await waitFor(`checkpoint ${round}`, async () => (await readAll(reader, 'ops/long.log')).texts.length === lines);
    components.push(Number((await meta()).componentCount ?? 1));
  }
  t.same(components, [1, 2, 3, 4, 1, 2], 'one component per appended checkpoint; rewritten whole at the limit (4)');
  t.ok(gcs.counters.servedByKind.compose >= 4, `compose used (${gcs.counters.servedByKind.compose} calls)`);

  // Sealing with no new lines changes only the metadata; the final object is the whole log, checksum as recorded.
  for (let i = 0; i < 5; i++) w.append(entry(`last ${i}`));
  const info = await w.finish();
  await writer.drain(10_000);
  const m = await meta();
  t.equal(m.metadata?.['tandem-complete'], 'true', 'complete');
  const [bytes] = await object.download();
  t.equal(createHash('sha256').update(bytes).digest('hex'), info.sha256, 'the composed object is byte for byte the log');
  t.equal(m.metadata?.['tandem-sha256'], info.sha256);
  const all = await readAll(reader, 'ops/long.log');
  t.equal(all.texts.length, 125, 'every line readable');
  t.ok(all.complete);
  const [files] = await client(gcs).bucket(BUCKET).getFiles({ prefix: 'logs/' });
  t.same(files.map((f) => f.name).filter((n) => n.endsWith(PART_SUFFIX)), [], 'no temporary part left behind');
});

t.test('a failing compose is retried and loses nothing; appendCheckpoints off uploads whole', async (t) => {
  const gcs = await setup(t);
  const writer = await member(t, gcs, { name: 'writer', checkpointIntervalMs: 60_000, checkpointBytes: 1 });
  const reader = await member(t, gcs, { name: 'reader' });
  const w = await writer.open('ops/flaky.log');
  for (let i = 0; i < 10; i++) w.append(entry(`a ${i}`));
  await waitFor('first checkpoint', async () => (await readAll(reader, 'ops/flaky.log')).texts.length === 10);

  gcs.faults.set({ status503: 3, only: ['compose'] });
  for (let i = 0; i < 10; i++) w.append(entry(`b ${i}`));
  await waitFor('the checkpoint after three failed composes', async () => (await readAll(reader, 'ops/flaky.log')).texts.length === 20);
  t.equal(gcs.counters.injected503, 3, 'three composes failed');
  const info = await w.finish();
  await writer.drain(10_000);
  const [bytes] = await client(gcs).bucket(BUCKET).file('logs/ops/flaky.log').download();
  t.equal(createHash('sha256').update(bytes).digest('hex'), info.sha256, 'whole and in order');

  const whole = await member(t, gcs, { name: 'whole', checkpointIntervalMs: 60_000, checkpointBytes: 1, appendCheckpoints: false });
  const before = gcs.counters.servedByKind.compose;
  const w2 = await whole.open('ops/whole.log');
  for (let round = 0; round < 3; round++) {
    w2.append(entry(`x ${round}`));
    await waitFor(`whole checkpoint ${round}`, async () => (await readAll(reader, 'ops/whole.log')).texts.length === round + 1);
  }
  await w2.finish();
  await whole.drain(10_000);
  t.equal(gcs.counters.servedByKind.compose, before, 'appendCheckpoints: false never composes');
  t.equal((await client(gcs).bucket(BUCKET).file('logs/ops/whole.log').getMetadata())[0].componentCount, undefined, 'an ordinary object');
});
