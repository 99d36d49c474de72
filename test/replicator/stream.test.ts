import t from 'tap';
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
  await p.src(`insert into tandem.items select g, 'item ' || g, g from generate_series(1, 5000) g`);
  await p.dst(`insert into tandem.items values (999999, 'seeded on the target', 0)`);
  const r1 = await runReplicator({ sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, untilCaughtUp: true, log });
  t.equal(r1.reason, 'caught_up');
  t.same(await checksum(p.dst, 'tandem.items'), await checksum(p.src, 'tandem.items'), 'target equals source after the copy');

  const { ac, done: running } = background(t, { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, log });
  await p.src(`insert into tandem.items select g, 'item ' || g, g from generate_series(5001, 6000) g`);
  await p.src(`update tandem.items set qty = qty + 1 where id % 7 = 0`);
  await p.src(`delete from tandem.items where id % 11 = 0`);
  await p.src(`insert into tandem.pairs values (1, 'x', 'one'), (2, 'y', 'two')`);
  await p.src(`update tandem.pairs set b = 'z' where a = 1`);
  const want = await checksum(p.src, 'tandem.items');
  await waitFor('items replicated', async () => (await checksum(p.dst, 'tandem.items')).md5 === want.md5);
  await waitFor('pairs replicated', async () => (await checksum(p.dst, 'tandem.pairs')).md5 === (await checksum(p.src, 'tandem.pairs')).md5);
  ac.abort();
  const r2 = await running;
  t.equal(r2.reason, 'aborted');
  t.ok(r2.appliedTxns >= 5, 'applied the streamed transactions');
});
