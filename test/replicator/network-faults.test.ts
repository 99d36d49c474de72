/**
 * Network faults between the replicator and its databases (issue 16,
 * reliability): a TCP proxy (test/harness/tcp-proxy.ts) in front of the
 * source and one in front of the target delay, reset and blackhole the
 * replicator's connections while a workload runs on the source. After each
 * fault: the replicator reconnected by itself, the target equals the source
 * (every table byte-exactly, and the ledger: one row per source transaction),
 * and the reconnects are counted in tandem_replicator_reconnects_total.
 *
 * Throughout, the source slot's confirmed position is sampled together with
 * what the target committed: the slot must never pass a source transaction
 * the target does not hold. Source commit positions come from a second,
 * test-only slot (test_decoding) over the same WAL.
 *
 * A blackhole (no reset, ever) must be detected by the replicator's peer
 * timeout rather than hang it (replicator/setup/peer-timeout.ts).
 *
 * One source and one target cluster for the whole file.
 */
import t from 'tap';
import pg from 'pg';
import { ReplicatorMetrics } from '../../replicator/metrics/metrics.js';
import { parseLsn, type Lsn } from '../../replicator/lsn.js';
import type { Logger } from '../../server/log.js';
import { startTcpProxy } from '../harness/tcp-proxy.js';
import { background, startPair, waitFor } from './helpers.js';
import { ledgerDdl, openCompareClients, tablesDiffering } from './soak-workload.js';

const ddl = `
create schema tandem;
${ledgerDdl}
create table tandem.items (id int primary key, n bigint not null, pad text);
`;
const TABLES = ['ledger', 'items'];

interface LogLine {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

function captureLogger(lines: LogLine[]): Logger {
  const log: Logger = {
    debug: () => undefined,
    info: (msg, fields) => void lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => void lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => void lines.push({ level: 'error', msg, fields }),
    child: () => log,
  };
  return log;
}

t.test('delays, resets and blackholes between the replicator and source or target: reconnects, acknowledges only what the target committed, ends equal', async (t) => {
  // A short wal_sender_timeout: the source ends a blackholed stream soon and frees the slot for the reconnect.
  const p = await startPair(t, ddl, { source: { settings: { wal_sender_timeout: "'3s'" } } });
  await p.src(`insert into tandem.items select g, 0, repeat('x', 50) from generate_series(1, 100) g`);
  await p.src(`select pg_create_logical_replication_slot('audit', 'test_decoding')`);
  const [srcProxy, dstProxy] = await Promise.all([startTcpProxy(t, p.source.port), startTcpProxy(t, p.target.port)]);

  const lines: LogLine[] = [];
  const metrics = new ReplicatorMetrics({ slot: 'net_site' });
  const reconnects = async () => (await metrics.registry.getSingleMetric('tandem_replicator_reconnects_total')!.get()).values[0]?.value ?? 0;
  const repl = background(t, {
    sourceUrl: srcProxy.via(p.sourceUrl),
    targetUrl: dstProxy.via(p.targetUrl),
    slot: 'net_site',
    // Short timeouts, so that a blackhole is noticed within seconds here (60 s by default).
    peerTimeoutMs: 1500,
    retryDelayMs: 100,
    metrics,
    log: captureLogger(lines),
  });

  const [src, dst] = await openCompareClients(t, p.sourceUrl, p.targetUrl);

  // The slot's confirmed position and the target's committed one, sampled together (slot first: the target's only grows).
  const samples: Array<{ confirmed: Lsn; committed: Lsn }> = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const c = (await src.query<{ l: string | null }>(`select confirmed_flush_lsn::text as l from pg_replication_slots where slot_name = 'net_site'`)).rows[0]?.l;
      const d = (await dst.query<{ l: string }>(`select source_end_lsn::text as l from tandem_site.replication_progress where slot_name = 'net_site'`).catch(() => ({ rows: [] as { l: string }[] }))).rows[0]?.l;
      if (c && d) samples.push({ confirmed: parseLsn(c), committed: parseLsn(d) });
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  // Workload: small transactions, each with its ledger row, until stopped.
  const work = new pg.Client({ connectionString: p.sourceUrl });
  await work.connect();
  t.teardown(() => work.end());
  let seq = 0;
  let paused = false;
  let stopped = false;
  let inFlight = false;
  const workload = (async () => {
    while (!stopped) {
      if (paused) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      inFlight = true;
      const id = ++seq;
      await work.query('begin');
      await work.query(`insert into tandem.ledger (id, kind) values ($1, 'net')`, [id]);
      await work.query('update tandem.items set n = n + 1, pad = $2 where id = $1', [(id % 100) + 1, `txn ${id}`]);
      await work.query('commit');
      inFlight = false;
      // A few hundred transactions per second are enough traffic (a load generator's pace); the cores go to the replicator.
      if (id % 20 === 0) await new Promise((r) => setTimeout(r, 20));
    }
  })();
  const pause = async () => {
    paused = true;
    await waitFor('the workload to pause', () => !inFlight, 30_000, 5);
  };

  const caughtUp = async (what: string) => {
    await waitFor(`${what}: target holds every ledger row of the source`, async () => {
      repl.check();
      const [a, b] = await Promise.all([
        src.query<{ n: string }>('select count(*) as n from tandem.ledger'),
        dst.query<{ n: string }>('select count(*) as n from tandem.ledger'),
      ]);
      return a.rows[0]!.n === b.rows[0]!.n;
    }, 60_000).catch((e: Error) => {
      for (const l of lines.slice(-15)) t.comment(`${l.level} ${l.msg} ${JSON.stringify(l.fields ?? {}).slice(0, 300)}`);
      throw e;
    });
    t.same(await tablesDiffering(src, dst, TABLES), [], `${what}: target equals source byte-exactly`);
  };
  /** Wait for some ledger rows to be written by the workload (the fault meets traffic). */
  const traffic = (n: number) => {
    const until = seq + n;
    return waitFor(`${n} more source transactions`, () => seq >= until, 30_000);
  };
  /** Run `fault` under the workload, pause it, wait for the catch-up and compare. */
  const round = async (what: string, fault: () => Promise<void>) => {
    paused = false;
    const before = await reconnects();
    const logFrom = lines.length;
    await fault();
    await pause();
    await caughtUp(what);
    paused = false;
    return { reconnected: (await reconnects()) - before, logFrom };
  };

  await traffic(50);
  // Let it stream once so that the first fault meets a running session.
  await waitFor('the replicator streams', async () => (await dst.query(`select count(*)::int as n from tandem.ledger`).catch(() => ({ rows: [{ n: 0 }] }))).rows[0]!.n > 0);

  const delayed = await round('200 ms delay each way', async () => {
    srcProxy.delay(200);
    dstProxy.delay(200);
    await traffic(100);
    srcProxy.delay(0);
    dstProxy.delay(0);
  });
  t.equal(delayed.reconnected, 0, 'a slow network is not a lost connection');

  const reconnectsOf = async (what: string, before: number) =>
    waitFor(`a reconnect after: ${what}`, async () => {
      repl.check();
      return (await reconnects()) > before;
    }, 30_000).catch((e: Error) => {
      // What the replicator was doing instead.
      for (const l of lines.slice(-15)) t.comment(`${l.level} ${l.msg} ${JSON.stringify(l.fields ?? {}).slice(0, 300)}`);
      throw e;
    });

  for (const [what, proxy] of [['source', srcProxy], ['target', dstProxy]] as const) {
    const r = await round(`connections to the ${what} reset`, async () => {
      await traffic(50);
      const before = await reconnects();
      t.ok(proxy.resetAll() > 0, `reset the replicator's connections to the ${what}`);
      await reconnectsOf(`reset of the ${what}`, before);
      await traffic(50);
    });
    t.ok(r.reconnected >= 1, `${what} reset: counted as a reconnect (${r.reconnected})`);
  }

  for (const [what, proxy] of [['source', srcProxy], ['target', dstProxy]] as const) {
    const r = await round(`${what} blackholed, then back`, async () => {
      await traffic(50);
      const before = await reconnects();
      proxy.blackhole();
      // Nothing ever arrives and no reset: only the replicator's peer timeout can notice.
      await reconnectsOf(`blackhole of the ${what}`, before);
      await traffic(50);
      proxy.heal();
    });
    t.ok(r.reconnected >= 1, `${what} blackhole: detected and counted as a reconnect (${r.reconnected})`);
    const timedOut = lines.slice(r.logFrom).find((l) => l.msg.startsWith('replication connection failed') && /did not answer/.test(String(l.fields?.error)));
    t.ok(timedOut, `${what} blackhole: the replicator gave the silent connection up (${String(timedOut?.fields?.error)})`);
    // Backoff starts over after a session that streamed: the first retry of this outage waits the first delay.
    const first = lines.slice(r.logFrom).find((l) => l.msg.startsWith('replication connection failed'));
    t.match(first?.msg, /reconnecting in 100 ms/, `${what} blackhole: first retry after the first delay, not the last outage's longest`);
  }
  await traffic(50);
  stopped = true;
  await workload;
  await caughtUp('after all faults');

  sampling = false;
  await sampler;
  // Every source transaction's end position (the LSN test_decoding gives a COMMIT is its record's end, the
  // position a replica confirms): the workload's only, the audit slot sees this database alone.
  const commits = (
    await src.query<{ lsn: string }>(`select lsn::text from pg_logical_slot_peek_changes('audit', null, null, 'skip-empty-xacts', '1') where data like 'COMMIT%'`)
  ).rows.map((r) => parseLsn(r.lsn));
  t.ok(commits.length >= seq, `${commits.length} source commits seen by the audit slot (${seq} workload transactions)`);
  // The slot confirmed beyond the target's position (keepalives move it on when idle): no source transaction may
  // end in between, i.e. be confirmed and not committed on the target.
  const ahead = samples.filter((s) => s.confirmed > s.committed);
  const bad = ahead.filter((s) => commits.some((c) => c > s.committed && c <= s.confirmed));
  t.ok(samples.length > 100, `${samples.length} samples of the slot's confirmed position against the target's committed one (${ahead.length} with the slot ahead)`);
  t.same(bad.slice(0, 3).map((s) => ({ confirmed: s.confirmed.toString(16), committed: s.committed.toString(16) })), [], 'the slot never confirmed a transaction the target had not committed');
  const total = await reconnects();
  t.ok(total >= 4, `tandem_replicator_reconnects_total = ${total}`);
  await src.query(`select pg_drop_replication_slot('audit')`);
});
