/**
 * The GCS emulator, exercised only through the real @google-cloud/storage
 * client (no hand-made HTTP): if the client accepts its answers, Tandem's
 * GCS code sees the same protocol it will see in production.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { CRC32C, IdempotencyStrategy, type Storage } from '@google-cloud/storage';
import { startGcs, type TestGcs } from './gcs.js';
import { waitFor } from './wait.js';

const crc32c = (b: Buffer) => {
  const c = new CRC32C();
  c.update(b);
  return c.toString();
};
const md5 = (b: Buffer) => createHash('md5').update(b).digest('base64');

/** HTTP status of a client error (the resumable path throws gaxios errors with `status`, the others `code`). */
const statusOf = (e: unknown): unknown => {
  const o = e as { code?: unknown; status?: unknown; response?: { status?: unknown } };
  return typeof o.code === 'number' ? o.code : (o.status ?? o.response?.status);
};


/** A client that retries every operation quickly (the defaults wait up to 64 s between tries). */
function retryingClient(gcs: TestGcs): Storage {
  return gcs.storage({
    retryOptions: { idempotencyStrategy: IdempotencyStrategy.RetryAlways, maxRetries: 5, retryDelayMultiplier: 1.1, maxRetryDelay: 1, totalTimeout: 60 },
  });
}

t.test('buckets: create, get, list, missing', async (t) => {
  const gcs = await startGcs(t, { buckets: ['first'] });
  const storage = gcs.storage();
  const [created] = await storage.createBucket('second');
  t.equal(created.name, 'second');
  const [buckets] = await storage.getBuckets();
  t.same(buckets.map((b) => b.name).sort(), ['first', 'second'], 'both buckets listed');
  const [meta] = await storage.bucket('first').getMetadata();
  t.equal(meta.name, 'first');
  t.same((await storage.bucket('first').exists())[0], true);
  t.same((await storage.bucket('nope').exists())[0], false, 'a missing bucket does not exist');
  await t.rejects(storage.bucket('nope').getMetadata(), { code: 404, message: 'The specified bucket does not exist.' });
  await t.rejects(storage.createBucket('first'), { code: 409 }, 'creating an existing bucket is a conflict');
  await t.rejects(storage.bucket('nope').file('x').save('x', { resumable: false }), { code: 404 }, 'upload into a missing bucket');
});

t.test('uploads (multipart, resumable, streamed in chunks), metadata and downloads', async (t) => {
  const gcs = await startGcs(t, { buckets: ['logs'] });
  const bucket = gcs.storage().bucket('logs');
  const small = Buffer.from('line 1\nline 2\n');
  const big = randomBytes(3 * 1024 * 1024 + 17);

  await bucket.file('a/simple.log').save(small, { resumable: false, contentType: 'text/plain', metadata: { metadata: { project: 'p1' } } });
  await bucket.file('a/resumable.log').save(big, { resumable: true });
  const [meta] = await bucket.file('a/simple.log').getMetadata();
  t.equal(meta.size, String(small.length), 'size');
  t.equal(meta.md5Hash, md5(small), 'md5Hash');
  t.equal(meta.crc32c, crc32c(small), 'crc32c, base64 big-endian');
  t.equal(meta.contentType, 'text/plain');
  t.same(meta.metadata, { project: 'p1' }, 'custom metadata kept');
  t.match(meta.generation, /^\d+$/, 'generation');
  t.equal(meta.metageneration, '1');
  const [bigMeta] = await bucket.file('a/resumable.log').getMetadata();
  t.equal(bigMeta.crc32c, crc32c(big));
  t.ok(BigInt(bigMeta.generation!) > BigInt(meta.generation!), 'generations increase');

  // Whole downloads are validated by the client against x-goog-hash (crc32c).
  t.same((await bucket.file('a/simple.log').download())[0], small, 'multipart upload round-trips');
  t.same((await bucket.file('a/resumable.log').download())[0], big, 'resumable upload round-trips');
  t.same((await bucket.file('a/simple.log').download({ validation: 'md5' }))[0], small, 'md5 validation passes too');

  // Ranges.
  t.equal((await bucket.file('a/simple.log').download({ start: 7 }))[0].toString(), 'line 2\n', 'from an offset');
  t.equal((await bucket.file('a/simple.log').download({ start: 0, end: 3 }))[0].toString(), 'line', 'start and end inclusive');
  t.same((await bucket.file('a/resumable.log').download({ start: 1_000_000, end: 2_000_000 }))[0], big.subarray(1_000_000, 2_000_001));
  await t.rejects(bucket.file('a/simple.log').download({ start: 500 }), { code: 416 }, 'a range past the end is unsatisfiable');

  // createWriteStream in 256 KiB chunks: every chunk but the last is answered 308 with the persisted range.
  const streamed = randomBytes(1024 * 1024 + 5);
  await new Promise<void>((resolve, reject) => {
    const ws = bucket.file('b/streamed.log').createWriteStream({ resumable: true, chunkSize: 256 * 1024 });
    ws.on('error', reject).on('finish', resolve);
    for (let i = 0; i < streamed.length; i += 100_000) ws.write(streamed.subarray(i, i + 100_000));
    ws.end();
  });
  t.same((await bucket.file('b/streamed.log').download())[0], streamed, 'chunked resumable upload round-trips');
  t.ok(gcs.counters.servedByKind.upload >= 6, `chunked upload used one request per chunk (${gcs.counters.servedByKind.upload} upload requests)`);

  // A non-resumable write stream, and an empty object.
  await new Promise<void>((resolve, reject) => {
    const ws = bucket.file('b/plain.log').createWriteStream({ resumable: false });
    ws.on('error', reject).on('finish', resolve);
    ws.end('plain');
  });
  t.equal((await bucket.file('b/plain.log').download())[0].toString(), 'plain');
  await bucket.file('b/empty.log').save(Buffer.alloc(0), { resumable: true });
  t.equal((await bucket.file('b/empty.log').getMetadata())[0].size, '0', 'an empty resumable upload');

  // Missing object: 404 with GCS's message.
  await t.rejects(bucket.file('nope.log').getMetadata(), { code: 404, message: 'No such object: logs/nope.log' });
  await t.rejects(bucket.file('nope.log').download(), { code: 404 });
  t.same((await bucket.file('nope.log').exists())[0], false);
});

t.test('list with prefix, delimiter and pages', async (t) => {
  const gcs = await startGcs(t, { buckets: ['logs'] });
  const bucket = gcs.storage().bucket('logs');
  const names = ['p1/1.log', 'p1/2.log', 'p1/3.log', 'p1/sub/4.log', 'p2/5.log', 'top.log'];
  await Promise.all(names.map((n) => bucket.file(n).save(n, { resumable: false })));

  const [all] = await bucket.getFiles();
  t.same(all.map((f) => f.name), names, 'everything, sorted by name');
  const [p1] = await bucket.getFiles({ prefix: 'p1/' });
  t.same(p1.map((f) => f.name), ['p1/1.log', 'p1/2.log', 'p1/3.log', 'p1/sub/4.log']);

  const [files, , resp] = await bucket.getFiles({ delimiter: '/', autoPaginate: false });
  t.same(files.map((f) => f.name), ['top.log'], 'only top-level objects with a delimiter');
  t.same((resp as { prefixes?: string[] }).prefixes, ['p1/', 'p2/'], 'prefixes returned');
  const [inP1, , resp2] = await bucket.getFiles({ prefix: 'p1/', delimiter: '/', autoPaginate: false });
  t.same(inP1.map((f) => f.name), ['p1/1.log', 'p1/2.log', 'p1/3.log']);
  t.same((resp2 as { prefixes?: string[] }).prefixes, ['p1/sub/']);

  // Pages of two, following nextQuery (pageToken).
  const seen: string[] = [];
  let query: Record<string, unknown> | null = { maxResults: 2, autoPaginate: false };
  let pages = 0;
  while (query) {
    const [page, next] = await bucket.getFiles(query);
    t.ok(page.length <= 2, 'page size honoured');
    seen.push(...page.map((f) => f.name));
    query = next as Record<string, unknown> | null;
    pages++;
  }
  t.equal(pages, 3, 'three pages');
  t.same(seen, names, 'pages cover every object once');
  const [auto] = await bucket.getFiles({ maxResults: 2 });
  t.ok(auto.length >= 2, 'autoPaginate with maxResults returns results');
});

t.test('rewrite (copy), copyTo, delete', async (t) => {
  const gcs = await startGcs(t, { buckets: ['active', 'passive'] });
  const storage = gcs.storage();
  const src = storage.bucket('active').file('p/1.log');
  const data = randomBytes(300_000);
  await src.save(data, { resumable: false, contentType: 'text/plain', metadata: { metadata: { execution: '1' } } });

  await src.copy(storage.bucket('passive').file('p/1.log'));
  t.equal(gcs.counters.servedByKind.rewrite, 1, 'copy used rewriteTo');
  const [copied] = await storage.bucket('passive').file('p/1.log').getMetadata();
  const [orig] = await src.getMetadata();
  t.equal(copied.crc32c, orig.crc32c, 'same checksum in the other bucket');
  t.equal(copied.contentType, 'text/plain');
  t.same(copied.metadata, { execution: '1' });
  t.same((await storage.bucket('passive').file('p/1.log').download())[0], data);

  // A rewrite in several calls (rewriteToken), as GCS does for large objects.
  gcs.emulator.rewriteBytesPerCall = 100_000;
  await src.copy(storage.bucket('passive').file('p/2.log'));
  gcs.emulator.rewriteBytesPerCall = 0;
  t.same((await storage.bucket('passive').file('p/2.log').download())[0], data, 'multi-call rewrite');
  t.ok(gcs.counters.servedByKind.rewrite >= 4, `rewrite took several calls (${gcs.counters.servedByKind.rewrite - 1})`);

  // copyTo through the client's own authenticated request path.
  await new Promise<void>((resolve, reject) =>
    src.request({ method: 'POST', uri: `/copyTo/b/passive/o/${encodeURIComponent('p/3.log')}`, json: {} }, (err) => (err ? reject(err) : resolve())),
  );
  t.same((await storage.bucket('passive').file('p/3.log').download())[0], data, 'copyTo');

  await storage.bucket('passive').file('p/3.log').delete();
  t.same((await storage.bucket('passive').file('p/3.log').exists())[0], false, 'deleted');
  await t.rejects(storage.bucket('passive').file('p/3.log').delete(), { code: 404 }, 'deleting twice is 404');
  await t.rejects(storage.bucket('active').file('missing').copy(storage.bucket('passive').file('x')), { code: 404 }, 'copy of a missing source');
});

t.test('compose: concatenation, composite objects, preconditions, component limit', async (t) => {
  const gcs = await startGcs(t, { buckets: ['logs'] });
  const bucket = gcs.storage().bucket('logs');
  const a = randomBytes(1000);
  const b = randomBytes(500);
  await bucket.file('a').save(a, { resumable: false });
  await bucket.file('b').save(b, { resumable: false });

  // The client's own combine(): a composite object with crc32c and no MD5, downloaded and validated by the client.
  await bucket.combine(['a', 'b'], 'ab', { ifGenerationMatch: 0 });
  const [meta] = await bucket.file('ab').getMetadata();
  t.equal(meta.componentCount, 2, 'two components');
  t.equal(meta.md5Hash, undefined, 'no MD5 on a composite object');
  t.equal(meta.crc32c, crc32c(Buffer.concat([a, b])));
  t.same((await bucket.file('ab').download())[0], Buffer.concat([a, b]), 'the concatenation, validated by the client');
  t.same((await bucket.file('ab').download({ start: 990, end: 1009 }))[0], Buffer.concat([a, b]).subarray(990, 1010), 'ranges across components');
  await t.rejects(bucket.combine(['a'], 'ab', { ifGenerationMatch: 0 }), { code: 412 }, 'destination precondition');

  // The JSON API form Tandem's log store sends: custom metadata on the destination, sources pinned to generations.
  const compose = (body: unknown, qs: Record<string, string>) =>
    new Promise<any>((resolve, reject) =>
      bucket.file('ab').request({ method: 'POST', uri: '/compose', json: body, qs }, (err, res) => (err ? reject(err) : resolve(res))),
    );
  const res = await compose(
    { destination: { contentType: 'application/x-ndjson', metadata: { k: 'v' } }, sourceObjects: [{ name: 'ab', generation: meta.generation }, { name: 'b' }] },
    { ifGenerationMatch: String(meta.generation) },
  );
  t.equal(res.componentCount, 3, 'components add up');
  t.same(res.metadata, { k: 'v' }, 'destination metadata');
  t.same((await bucket.file('ab').download())[0], Buffer.concat([a, b, b]));
  await t.rejects(compose({ sourceObjects: [{ name: 'ab', generation: meta.generation }] }, {}), { code: 404 }, 'a source generation that is gone: 404');
  await t.rejects(compose({ sourceObjects: [{ name: 'b', objectPreconditions: { ifGenerationMatch: '1' } }] }, {}), { code: 412 }, 'source precondition');
  await t.rejects(compose({ sourceObjects: Array.from({ length: 33 }, () => ({ name: 'a' })) }, {}), { code: 400 }, 'at most 32 sources');
  // 32 × 32 components is exactly the maximum; one more is refused.
  await bucket.combine(Array.from({ length: 32 }, () => 'a'), 'a32');
  await bucket.combine(Array.from({ length: 32 }, () => 'a32'), 'a1024');
  t.equal((await bucket.file('a1024').getMetadata())[0].componentCount, 1024, '1024 components are allowed');
  await t.rejects(compose({ sourceObjects: [{ name: 'a1024' }, { name: 'a' }] }, {}), { code: 400, message: /exceeds the maximum of 1024/ }, 'at most 1024 components');
});

t.test('preconditions', async (t) => {
  const gcs = await startGcs(t, { buckets: ['logs'] });
  const file = gcs.storage().bucket('logs').file('x.log');

  await file.save('v1', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
  const gen1 = Number((await file.getMetadata())[0].generation);
  await t.rejects(file.save('again', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }), { code: 412 }, 'ifGenerationMatch=0 on an existing object');

  await file.save('v2', { resumable: false, preconditionOpts: { ifGenerationMatch: gen1 } });
  const gen2 = Number((await file.getMetadata())[0].generation);
  t.ok(gen2 > gen1, 'a matching generation writes a new generation');

  const stale = file.save('stale', { resumable: false, preconditionOpts: { ifGenerationMatch: gen1 } });
  await t.rejects(stale, { code: 412, message: 'At least one of the pre-conditions you specified did not hold.' }, 'a stale writer gets 412');
  const resumableErr = await file.save('stale', { resumable: true, preconditionOpts: { ifGenerationMatch: gen1 } }).then(() => undefined, (e: unknown) => e);
  t.equal(statusOf(resumableErr), 412, 'a stale resumable writer gets 412 too');
  t.equal((await file.download())[0].toString(), 'v2', 'the stale writes changed nothing');

  // The 412 body is GCS's JSON error (reason conditionNotMet).
  const err = await file.save('stale', { resumable: false, preconditionOpts: { ifGenerationMatch: gen1 } }).catch((e: unknown) => e);
  t.match(err, { code: 412, errors: [{ reason: 'conditionNotMet', domain: 'global' }] });

  await t.rejects(file.save('x', { resumable: false, preconditionOpts: { ifGenerationNotMatch: gen2 } } as never), { code: 412 }, 'ifGenerationNotMatch');
  await file.save('v3', { resumable: false, preconditionOpts: { ifGenerationNotMatch: gen1 } } as never);
  t.equal((await file.download())[0].toString(), 'v3', 'ifGenerationNotMatch with another generation writes');

  // Metageneration: metadata updates bump it.
  await file.setMetadata({ metadata: { a: '1' } }, { ifMetagenerationMatch: 1 });
  t.equal((await file.getMetadata())[0].metageneration, '2');
  await t.rejects(file.setMetadata({ metadata: { a: '2' } }, { ifMetagenerationMatch: 1 }), { code: 412 }, 'stale metageneration');

  const gen3 = Number((await file.getMetadata())[0].generation);
  await t.rejects(file.delete({ ifGenerationMatch: gen1 }), { code: 412 }, 'delete with a stale generation');
  await file.delete({ ifGenerationMatch: gen3 });
  t.same((await file.exists())[0], false);
});

t.test('faults: 503s, dropped connections and hangs are retried by the client', async (t) => {
  const gcs = await startGcs(t, { buckets: ['logs'] });
  const storage = retryingClient(gcs);
  const file = storage.bucket('logs').file('f.log');

  gcs.faults.set({ status503: 2 });
  await file.save('after 503s', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
  t.equal(gcs.counters.injected503, 2, 'two 503s were answered');
  t.equal((await file.download())[0].toString(), 'after 503s', 'multipart upload succeeded after retries');

  gcs.faults.set({ status503: 2, only: ['download'] });
  t.equal((await file.download())[0].toString(), 'after 503s', 'download retried after 503s');
  t.equal(gcs.counters.injected503, 4);

  gcs.faults.set({ dropConnections: 1 });
  const [meta] = await file.getMetadata();
  t.equal(meta.name, 'f.log', 'metadata read retried after a dropped connection');
  t.equal(gcs.counters.dropped, 1);

  // A resumable upload whose second chunk fails: the client asks the session's
  // status (308 + Range) and resumes from the persisted offset.
  const data = randomBytes(1024 * 1024);
  gcs.faults.set({ status503: 1, only: ['upload'], after: 2 });
  const before = gcs.counters.byKind.upload;
  await storage.bucket('logs').file('r.log').save(data, { resumable: true, chunkSize: 256 * 1024, preconditionOpts: { ifGenerationMatch: 0 } });
  t.same((await storage.bucket('logs').file('r.log').download())[0], data, 'resumed upload is complete and correct');
  t.equal(gcs.counters.injected503, 5, 'one chunk was refused');
  t.ok(gcs.counters.byKind.upload - before >= 7, 'session + 4 chunks + failed chunk + status query');

  gcs.faults.set({ status503: 'always' });
  const failing = gcs.storage({ retryOptions: { autoRetry: false } });
  await t.rejects(failing.bucket('logs').file('f.log').getMetadata(), { code: 503 }, 'a client without retries sees the 503');
  gcs.faults.clear();

  // A hang: the request is held until the fault is cleared, then its connection is reset and the client retries.
  gcs.faults.set({ hang: true });
  const pending = file.getMetadata();
  await waitFor('the request to hang', () => gcs.counters.hung >= 1);
  gcs.faults.clear();
  t.equal((await pending)[0].name, 'f.log', 'the hung request is retried once the store is back');

  // A dropped answer: the write happens, the client cannot know, and its retry meets the precondition.
  gcs.faults.set({ dropResponses: 1, only: ['upload'] });
  const lost = storage.bucket('logs').file('lost.log');
  const retried = await lost.save('written once', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }).then(() => undefined, (e: unknown) => e);
  t.equal(gcs.counters.droppedResponses, 1, 'one answer dropped');
  t.equal(statusOf(retried), 412, 'the retry of a write that did happen fails its precondition');
  t.equal((await lost.download())[0].toString(), 'written once', 'the first attempt was stored');
  gcs.faults.clear();

  gcs.faults.resetCounters();
  t.equal(gcs.counters.requests, 0, 'counters reset');
});

t.test('stop and start keep the objects; teardown closes hanging connections', async (t) => {
  const gcs = await startGcs(t, { buckets: ['logs'] });
  const storage = gcs.storage({ retryOptions: { autoRetry: false } });
  await storage.bucket('logs').file('kept.log').save('kept', { resumable: false });
  await gcs.stop();
  await t.rejects(storage.bucket('logs').file('kept.log').download(), /ECONNREFUSED|socket hang up|ECONNRESET/, 'refused while stopped');
  await gcs.start();
  t.equal((await storage.bucket('logs').file('kept.log').download())[0].toString(), 'kept');
  gcs.faults.set({ hang: true });
  // Left hanging on purpose: the teardown must still finish.
  storage.bucket('logs').file('kept.log').getMetadata().catch(() => undefined);
  await waitFor('the request to hang', () => gcs.counters.hung >= 1);
  t.pass('teardown follows with a request hanging');
});
