import t from 'tap';
import pg from 'pg';
import { runReplicator } from '../../replicator/index.js';
import { createLogger } from '../../server/log.js';
const log = createLogger({ test: 'stream' }, { format: 'pretty', level: (process.env.TANDEM_TEST_LOG as 'debug') ?? 'error' });
import { background, checksum, startPair, waitFor } from './helpers.js';

const ddl = `
create schema tandem;
create table tandem.items (id bigint primary key, name text not null, qty int);
create table tandem.pairs (a int, b text, v text, primary key (a, b));
`;

t.test('initial copy, then streaming; rows committed during the copy arrive exactly once', async (t) => {
  const p = await startPair(t, ddl);
  await p.src(`insert into tandem.items select g, 'item ' || g, g from generate_series(1, 200000) g`);
  await p.dst(`insert into tandem.items values (999999, 'seeded on the target', 0)`);
  // A writer commits inserts and updates for as long as the initial copy runs (and a little after).
  const writer = new pg.Client({ connectionString: p.sourceUrl });
  await writer.connect();
  t.teardown(() => writer.end());
  let copyDone = false;
  let duringCopy = 0;
  const copying = runReplicator({
    sourceUrl: p.sourceUrl,
    targetUrl: p.targetUrl,
    untilCaughtUp: true,
    log,
    onProgress: () => (copyDone = true),
  });
  copying.catch(() => undefined);
  let id = 300000;
  while (!copyDone) {
    await writer.query(`insert into tandem.items values ($1, 'during copy', 1)`, [id++]);
    await writer.query(`update tandem.items set qty = qty + 1 where id = $1`, [(id % 200000) + 1]);
    if (!copyDone) duringCopy++;
  }
  const r1 = await copying;
  t.equal(r1.reason, 'caught_up', 'caught up');
  t.ok(duringCopy > 0, `${duringCopy} transactions committed while the initial copy ran`);
  // Whatever was committed after the caught-up point arrives with the next run.
  await runReplicator({ sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, untilCaughtUp: true, log });
  t.same(await checksum(p.dst, 'tandem.items'), await checksum(p.src, 'tandem.items'), 'target equals source: each row exactly once');

  const { ac, done: running } = background(t, { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, log });
  await p.src(`insert into tandem.items select g, 'item ' || g, g from generate_series(500001, 501000) g`);
  await p.src(`update tandem.items set qty = qty + 1 where id % 7 = 0`);
  await p.src(`delete from tandem.items where id % 11 = 0`);
  await p.src(`insert into tandem.pairs values (1, 'x', 'one'), (2, 'y', 'two')`);
  await p.src(`update tandem.pairs set b = 'z' where a = 1`);
  const want = await checksum(p.src, 'tandem.items');
  await waitFor('items replicated', async () => (await checksum(p.dst, 'tandem.items')).md5 === want.md5);
  await waitFor('pairs replicated', async () => (await checksum(p.dst, 'tandem.pairs')).md5 === (await checksum(p.src, 'tandem.pairs')).md5);
  t.pass('streamed inserts, updates, deletes and key updates arrived');
  ac.abort();
  const r2 = await running;
  t.equal(r2.reason, 'aborted', 'stopped by the signal');
  t.ok(r2.appliedTxns >= 5, 'applied the streamed transactions');
});
