/**
 * A replicator started while another one still streams into the same target
 * (a rolling restart, a `tandem rejoin` next to a running site, an operator's
 * second start): it waits for the slot, then resumes from what the first one
 * committed last, not from what the target held when it started waiting.
 *
 * It used to read the target's position while waiting: the first replicator
 * went on applying for seconds, stopped with its last group committed on the
 * target but not yet acknowledged to the source, and the second one streamed
 * that group again from its stale position (a duplicate key: replication
 * stopped for good). And a group of the previous replicator whose commit is
 * still running on the target when the slot is released (as when it was
 * killed right after sending the commit) is waited for.
 */
import t, { type Test } from 'tap';
import pg from 'pg';
import { createLogger } from '../../server/log.js';
import { background, checksum, startPair, waitFor, type Pair } from './helpers.js';
import { runReplicator } from '../../replicator/index.js';

const ddl = `
create schema tandem;
create table tandem.kv (id bigint primary key, v text not null);
`;

t.test('handing a target over from one replicator to the next', async (t) => {
  const p = await startPair(t, ddl);
  const opts = { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'handover_site' };
  await runReplicator({ ...opts, untilCaughtUp: true });
  await t.test('a second replicator waits for the slot and resumes where the first stopped', (t) => secondWhileFirstRuns(t, p, opts));
  await t.test('a group still committing on the target when the slot is released is waited for', (t) => groupStillCommitting(t, p, opts));
});

type Opts = { sourceUrl: string; targetUrl: string; slot: string };

async function secondWhileFirstRuns(t: Test, p: Pair, opts: Opts): Promise<void> {
  // A steady workload, one row per source transaction, for the whole test.
  const writer = new pg.Client({ connectionString: p.sourceUrl });
  await writer.connect();
  t.teardown(() => writer.end());
  let next = 1;
  let writing = true;
  const written = (async () => {
    while (writing) {
      await writer.query('insert into tandem.kv values ($1::bigint, $2::text)', [next, `row ${next}`]);
      next++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  const applied = async () => Number((await p.dst('select count(*)::int as n from tandem.kv')).rows[0].n);

  const first = background(t, opts);
  await waitFor('the first replicator applies', async () => (first.check(), (await applied()) > 50));

  const lines: string[] = [];
  const log = createLogger({}, { level: 'info', format: 'json', write: (line) => lines.push(line) });
  const second = background(t, { ...opts, log });
  await waitFor('the second replicator waits for the slot', () => lines.some((l) => l.includes('the slot is still held')));
  // The first one goes on applying while the second waits: the position the second found at its start is behind now.
  const atWait = await applied();
  await waitFor('the first replicator applies more', async () => (first.check(), (await applied()) > atWait + 200));
  first.ac.abort();
  const r1 = await first.done;
  t.equal(r1.reason, 'aborted', 'the first replicator stopped');

  await waitFor('the second replicator streams', () => (second.check(), lines.some((l) => l.includes('"msg":"streaming"'))));
  writing = false;
  await written;
  const rows = next - 1;
  await waitFor('the target has every row', async () => (second.check(), (await applied()) === rows));
  t.same(await checksum(p.dst, 'tandem.kv'), await checksum(p.src, 'tandem.kv'), `target equals source (${rows} rows)`);
  second.ac.abort();
  const r2 = await second.done;
  t.equal(r2.reason, 'aborted', 'the second replicator ran until stopped, without an error');
}

async function groupStillCommitting(t: Test, p: Pair, opts: Opts): Promise<void> {
  // A source transaction that the previous replicator applied in a group whose commit has not finished on the
  // target: its changes and the position past it are written, uncommitted; the source never got the acknowledgement.
  await p.src(`insert into tandem.kv values (-1, 'applied by the group still committing')`);
  const past = (await p.src('select pg_current_wal_lsn()::text as l')).rows[0].l as string;
  const group = new pg.Client({ connectionString: p.targetUrl });
  await group.connect();
  t.teardown(() => group.end());
  await group.query('begin');
  await group.query(`insert into tandem.kv values (-1, 'applied by the group still committing')`);
  await group.query(`update tandem_site.replication_progress set source_commit_lsn = $1::pg_lsn, source_end_lsn = $1::pg_lsn where slot_name = $2`, [past, opts.slot]);

  const lines: string[] = [];
  const log = createLogger({}, { level: 'info', format: 'json', write: (line) => lines.push(line) });
  const next = background(t, { ...opts, log });
  await waitFor('the replicator waits for the group', async () => {
    next.check();
    const r = await p.dst(`select 1 from pg_stat_activity where application_name = 'tandem-replicator' and wait_event_type = 'Lock'`);
    return r.rowCount === 1;
  });
  t.notOk(lines.some((l) => l.includes('"msg":"streaming"')), 'it does not stream before the group is committed');
  await group.query('commit');

  await p.src(`insert into tandem.kv values (-2, 'after the hand-over')`);
  await waitFor('the next transaction arrives', async () => (next.check(), (await p.dst('select 1 from tandem.kv where id = -2')).rowCount === 1));
  t.same(await checksum(p.dst, 'tandem.kv'), await checksum(p.src, 'tandem.kv'), 'target equals source: the group was not applied twice');
  next.ac.abort();
  t.equal((await next.done).reason, 'aborted', 'the replicator ran until stopped, without an error');
}
