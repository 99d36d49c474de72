/**
 * Replication from a source reached over TLS (`sslmode=verify-full`, the
 * site's own CA). The replication connection frames the server's messages
 * itself, below node-pg (replicator/stream/framing.ts); with TLS its framer
 * sits on node's TLS socket instead of the plain one, so this runs the
 * initial copy and a stream of bulk, single-row and TOAST changes through it
 * and compares the tables, and checks that the walsender's connection really
 * was encrypted.
 */
import t from 'tap';
import { chmodSync, chownSync, copyFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { makeTestCa } from '../auth/tls.js';
import { tempDir } from '../harness/tmp.js';
import { background, checksum, startPair, waitFor } from './helpers.js';

const ddl = `
create schema tandem;
create table tandem.t (id bigint primary key, v text, n int, big text);
`;

t.test('a stream over TLS applies as one over plain TCP', async (t) => {
  const p = await startPair(t, ddl);
  const ca = makeTestCa(await tempDir(t, 'tls-ca'));
  // PostgreSQL reads a key only when its own user owns it with mode 0600 (as root, the server runs as another user).
  const owner = statSync(p.source.dataDir);
  for (const [from, name] of [
    [ca.certFile, 'server.crt'],
    [ca.keyFile, 'server.key'],
  ] as const) {
    const file = path.join(p.source.dataDir, name);
    copyFileSync(from, file);
    chownSync(file, owner.uid, owner.gid);
    chmodSync(file, 0o600);
  }
  await p.source.query(`alter system set ssl_cert_file = 'server.crt'`);
  await p.source.query(`alter system set ssl_key_file = 'server.key'`);
  await p.source.query(`alter system set ssl = on`);
  await p.source.query(`select pg_reload_conf()`);
  await waitFor('the source to accept TLS', async () => (await p.source.query<{ ssl: string }>('show ssl')).rows[0]!.ssl === 'on');

  const url = new URL(p.sourceUrl);
  url.searchParams.set('sslmode', 'verify-full');
  url.searchParams.set('sslrootcert', ca.caFile);
  const sourceUrl = url.toString();

  // Rows for the initial copy, then the replicator streams.
  await p.src(`insert into tandem.t select g, 'before ' || g, g, null from generate_series(1, 1000) g`);
  const r = background(t, { sourceUrl, targetUrl: p.targetUrl });
  await waitFor('the initial copy', async () => {
    r.check();
    return (await p.dst('select count(*)::int as n from tandem.t')).rows[0].n === 1000;
  });

  // Bulk inserts (COPY rows), single-row updates and deletes, and a value large enough to be TOASTed and left unchanged.
  await p.src(`insert into tandem.t select g, 'row ' || g, g, null from generate_series(1001, 21000) g`);
  await p.src(`update tandem.t set big = repeat('x', 100000) where id = 7`);
  for (let i = 0; i < 50; i++) await p.src('update tandem.t set n = n + 1 where id = $1', [i * 13 + 1]);
  await p.src(`update tandem.t set v = 'changed' where id = 7`);
  await p.src(`delete from tandem.t where id % 100 = 0`);
  const want = await checksum(p.src, 'tandem.t');
  await waitFor('the target to equal the source', async () => {
    r.check();
    const got = await checksum(p.dst, 'tandem.t');
    return got.md5 === want.md5 && got.rows === want.rows;
  });
  t.equal(want.rows, 20790, 'the source has the rows the workload leaves');

  const walsender = await p.source.query<{ ssl: boolean }>(`select s.ssl from pg_stat_replication r join pg_stat_ssl s on s.pid = r.pid`);
  t.same(
    walsender.rows.map((x) => x.ssl),
    [true],
    'the replication connection is encrypted',
  );
});
