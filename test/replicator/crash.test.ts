/**
 * Exactly once across crashes (replicator/docs/durability-order.md): the replicator process is
 * killed with SIGKILL at random moments of a running workload, at least 20
 * times, restarted each time; at the end the target equals the source table
 * by table, and a counter incremented once per source transaction matches.
 * Needs the compiled CLI (`npx tsc -p tsconfig.json`).
 */
import t from 'tap';
import pg from 'pg';
import { checksum, startPair, waitFor } from './helpers.js';
import { runTandem, spawnTandem } from './cli.js';

const ddl = `
create schema tandem;
create table tandem.counter (id int primary key, n bigint not null);
create table tandem.accounts (id int primary key, balance numeric(20,2) not null, note text);
create table tandem.events (id bigserial primary key, account int not null, payload jsonb, at timestamptz not null default clock_timestamp());
create index on tandem.events (account, id);
insert into tandem.counter values (1, 0);
`;

const KILLS = Number(process.env.TANDEM_TEST_KILLS ?? 20);

t.test('kill -9 of the replicator during a workload, restarted each time: target equals source', async (t) => {
  const p = await startPair(t, ddl);
  await p.src(`insert into tandem.accounts select g, 1000, 'acct ' || g from generate_series(1, 200) g`);
  const args = ['replicate', '--source', p.sourceUrl, '--target', p.targetUrl, '--slot', 'crash_site'];

  // Workload: many small transactions and some bigger ones, each bumping the counter once.
  const client = new pg.Client({ connectionString: p.sourceUrl });
  await client.connect();
  t.teardown(() => client.end());
  let stop = false;
  let txns = 0;
  const workload = (async () => {
    let i = 0;
    while (!stop) {
      i++;
      await client.query('begin');
      await client.query('update tandem.counter set n = n + 1 where id = 1');
      const acct = (i % 200) + 1;
      if (i % 25 === 0) {
        await client.query(`insert into tandem.events (account, payload) select $1, jsonb_build_object('i', $2::int, 'g', g) from generate_series(1, 300) g`, [acct, i]);
      } else {
        await client.query('update tandem.accounts set balance = balance + 1.01, note = $2 where id = $1', [acct, `txn ${i}`]);
        await client.query(`insert into tandem.events (account, payload) values ($1, jsonb_build_object('i', $2::int))`, [acct, i]);
        if (i % 3 === 0) await client.query('delete from tandem.events where id = (select min(id) from tandem.events where account = $1)', [acct]);
      }
      await client.query('commit');
      txns++;
    }
  })();

  const progress = async () =>
    Number((await p.dst(`select coalesce((select applied_txns from tandem_site.replication_progress where slot_name = 'crash_site'), -1) as n`)).rows[0].n);

  // node-pg 8 warns when a query is handed over while another waits in its queue (an error in pg 9):
  // the apply loop hands it one operation at a time (apply/statement-queue.ts, submit).
  const warned: string[] = [];
  try {
    for (let k = 0; k < KILLS; k++) {
      if (process.env.TANDEM_TEST_LOG) console.error('spawn', new Date().toISOString());
      const proc = spawnTandem(t, args);
      const before = await progress().catch(() => -1);
      // Kill at a random moment after it made progress (or, for some rounds, during start-up / the initial copy).
      if (k % 4 !== 1) await waitFor(`progress in round ${k}`, async () => (await progress().catch(() => -1)) > before, 60_000);
      // Deliberate, not a wait on a guess: a random extra 0-150 ms so that the
      // kill lands at a different point of the apply loop each round (mid
      // batch, mid COPY, between commit and acknowledgement). The condition it
      // follows (progress made) is awaited above.
      const killJitterMs = Math.floor(Math.random() * 150);
      await new Promise((r) => setTimeout(r, killJitterMs));
      if (process.env.TANDEM_TEST_LOG) console.error('kill', new Date().toISOString());
      proc.child.kill('SIGKILL');
      const ex = await proc.exited;
      if (process.env.TANDEM_TEST_LOG) console.error(proc.stderr().split('\n').map((l) => l.slice(0, 300)).join('\n'));
      t.equal(ex.signal, 'SIGKILL', `round ${k}: killed (${txns} source transactions so far)`);
      for (const line of proc.stderr().split('\n')) if (/\(node:\d+\) \w*Warning/.test(line)) warned.push(`round ${k}: ${line.slice(0, 300)}`);
    }
  } finally {
    stop = true;
    await workload;
  }

  const final = await runTandem(t, [...args, '--until-caught-up']);
  t.equal(final.code, 0, 'final run caught up', { stderr: final.stderr.slice(-3000) });
  for (const line of final.stderr.split('\n')) if (/\(node:\d+\) \w*Warning/.test(line)) warned.push(`final run: ${line.slice(0, 300)}`);
  t.same(warned, [], 'no replicator process printed a warning (e.g. node-pg\'s DeprecationWarning)');
  for (const table of ['tandem.counter', 'tandem.accounts', 'tandem.events']) {
    t.same(await checksum(p.dst, table), await checksum(p.src, table), `${table}: target equals source`);
  }
  const n = (await p.dst('select n from tandem.counter')).rows[0].n;
  t.equal(Number(n), txns, `counter on the target = ${txns} source transactions`);
  // Every source transaction after the initial copy was applied exactly once, none twice.
  const applied = await p.dst(`select applied_txns, initial_sync_lsn from tandem_site.replication_progress where slot_name = 'crash_site'`);
  t.ok(Number(applied.rows[0].applied_txns) > 0, 'transactions were streamed after the (last) initial copy');
});
