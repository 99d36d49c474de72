/**
 * Replication: the replicator against PostgreSQL's own logical replication
 * (CREATE SUBSCRIPTION), measured side by side in one run on the same two
 * clusters (one source, one target, started once for the group).
 *
 * Method (why it can be trusted):
 * - Every measurement gets fresh databases (`<part>_<who><n>` on both
 *   clusters), dropped with their slot afterwards, and both clusters take a
 *   CHECKPOINT after the backlog is generated, right before the timed
 *   catch-up: no part inherits another's dirty buffers, slots or bloat.
 * - Native and Tandem alternate, each as shipped and with the other transfer
 *   (native, Tandem, native binary, Tandem --text; reversed every other
 *   round): drift of the shared machine hits all; each round gives one ratio
 *   per pair of consumers; the figure is the median of the rounds
 *   (TANDEM_BENCH_REPS, default 3), with the min and max beside it (`_min`,
 *   `_max`). In the benchmark's process an unmeasured catch-up of each of
 *   Tandem's transfers comes first (compiling the code cost the first
 *   measured one twice the CPU).
 * - Throughput = catch-up from a backlog (measured while the workload is
 *   generated, native apply just keeps pace with the generator and the ratio
 *   says nothing): the slot holds the whole workload
 *   before the consumer starts (replicator not running / subscription
 *   disabled); done = the commit on the target of a marker row committed on
 *   the source after the workload: a trigger on the target's marker table
 *   (ENABLE ALWAYS, so it fires for both consumers) notifies a listener that
 *   was connected before the clock started, and NOTIFY is delivered at
 *   commit. (It used to be polled every 20 ms by a client connected after the
 *   start: up to 20 ms late on a catch-up of 150 ms, and that connect competed
 *   with the consumer's start for the two cores.) A first marker row,
 *   committed on the source before the workload, splits each catch-up in two:
 *   the target stamps both rows with clock_timestamp() as it writes them, so
 *   `first_change_ms_<part>` is the consumer's start (until it writes its first
 *   change) and `ratio_<part>_steady` compares the rates between the two rows.
 *
 * Parts (TANDEM_BENCH_PARTS=bulk,small,big,lag,startup; default all):
 *   bulk:    200,000 rows in 1,000-row transactions;
 *   small:   20,000 single-row transactions mixing INSERT, UPDATE and DELETE;
 *   big:     one 1,000,000-row transaction, Tandem as its own `tandem
 *            replicate` process for its peak RSS (one pair: the figure that
 *            matters is memory); TANDEM_BENCH_BIG5M=1 adds a 5,000,000-row one
 *            (Tandem only; about a minute more);
 *   lag:     commit on the source → visible on the target at a steady 2,000
 *            and 1,000 transactions/s, Tandem as its own process (the load
 *            generator must not share its event loop), native beside it;
 *   startup: `tandem replicate` process start → streaming, with an existing
 *            slot (median of 3); and the peak RSS of `tandem replicate --help`
 *            (what loading the command costs before it does anything);
 *   copy:    the initial copy of 1,000,000 bulk rows (a resync), binary and
 *            text transfer alternately (median of 3 each).
 * TANDEM_BENCH_SCALE=0.1 shrinks the workloads.
 *
 * bulk and small also report their CPU budget (cpu-time.ts): CPU ms per
 * 1,000 rows or transactions of the source cluster, the target cluster and
 * Tandem's process, for both consumers. On a 2-core machine three busy
 * processes cannot all run at once, so the total says as much as the wall time.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { setPolicy } from '../../replicator/setup/scheduling.js';
import { runReplicator } from '../../replicator/index.js';
import { startPostgres, type TestPostgres } from '../harness/postgres.js';
import { clusterCpuMs, processCpuMs } from './cpu-time.js';
import { percentile, type BenchGroup, type BenchReport } from './report.js';

const SCALE = Number(process.env.TANDEM_BENCH_SCALE ?? 1);
const REPS = Math.max(1, Number(process.env.TANDEM_BENCH_REPS ?? 3));
const BULK_ROWS = Math.round(200_000 * SCALE);
const SMALL_TXNS = Math.round(20_000 * SCALE);
const BIG_ROWS = Math.round(1_000_000 * SCALE);
const BIG5M = process.env.TANDEM_BENCH_BIG5M === '1';
const LAG_SECONDS = 10;
/** TANDEM_BENCH_PROCESS=1: Tandem as its own process in bulk and small too (with TANDEM_BENCH_CPU_PROF=DIR: profiled). */
const AS_PROCESS = process.env.TANDEM_BENCH_PROCESS === '1';
const PARTS = new Set((process.env.TANDEM_BENCH_PARTS ?? 'bulk,small,big,lag,startup,copy').split(',').map((s) => s.trim()));

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const ddl = `
create schema tandem;
create table tandem.bulk (id bigint primary key, a int not null, b text, c timestamptz not null default now());
create table tandem.mixed (id bigint primary key, n int not null, note text);
create table tandem.marker (id int primary key);
create table tandem.lag (id bigint primary key, created_at timestamptz not null);
`;

type Who = 'native' | 'tandem';
/**
 * The catch-up parts measure four consumers side by side: each as shipped (native: text transfer;
 * Tandem: binary transfer) and with the other transfer (`binary = true` / `tandem replicate --text`).
 */
type Consumer = Who | 'native_binary' | 'tandem_text';
const CONSUMERS: Consumer[] = ['native', 'tandem', 'native_binary', 'tandem_text'];

/** The group's two clusters; each measurement creates its own databases on them. */
interface Clusters {
  source: TestPostgres;
  target: TestPostgres;
}

/** One measurement's databases. */
interface Dbs {
  name: string;
  sourceUrl: string;
  targetUrl: string;
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

async function createDbs(cl: Clusters, name: string): Promise<Dbs> {
  const [sourceUrl, targetUrl] = await Promise.all([cl.source.createDatabase(name), cl.target.createDatabase(name)]);
  await Promise.all([cl.source.query(ddl, [], name), cl.target.query(ddl, [], name)]);
  await cl.target.query(`alter table tandem.lag add column applied_at timestamptz not null default clock_timestamp()`, [], name);
  await cl.target.query(`alter table tandem.marker add column applied_at timestamptz not null default clock_timestamp()`, [], name);
  await cl.target.query(markerTrigger, [], name);
  return { name, sourceUrl, targetUrl };
}

/** Drop a measurement's subscription, slots and databases (the next one starts clean). */
async function dropDbs(cl: Clusters, d: Dbs): Promise<void> {
  const subs = await cl.target.query<{ subname: string }>(`select subname from pg_subscription s join pg_database d on d.oid = s.subdbid where d.datname = $1`, [d.name]);
  for (const s of subs.rows) {
    await cl.target.query(`alter subscription "${s.subname}" disable`, [], d.name);
    await cl.target.query(`alter subscription "${s.subname}" set (slot_name = none)`, [], d.name);
    await cl.target.query(`drop subscription "${s.subname}"`, [], d.name);
  }
  // A slot may still be held for a moment by the walsender of a consumer that just stopped.
  for (let i = 0; ; i++) {
    await cl.source.query(`select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = $1 and not active`, [d.name]);
    const left = await cl.source.query(`select 1 from pg_replication_slots where database = $1`, [d.name]);
    if (!left.rowCount) break;
    if (i > 400) throw new Error(`the replication slot of ${d.name} is still in use after 20 s`);
    await new Promise((res) => setTimeout(res, 50));
  }
  // Sessions of a consumer that just stopped may still be closing: let them go before forcing (a forced
  // end of a session reaches a client as an 'error' event).
  for (const c of [cl.source, cl.target]) {
    for (let i = 0; i < 200; i++) {
      const r = await c.query<{ a: string }>(`select coalesce(application_name, '') as a from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [d.name]);
      if (!r.rowCount) break;
      if (i === 199) process.stderr.write(`bench: sessions still open on ${d.name} after 10 s: ${r.rows.map((x) => x.a).join(', ')}\n`);
      await new Promise((res) => setTimeout(res, 50));
    }
  }
  await Promise.all([cl.source.query(`drop database "${d.name}" with (force)`), cl.target.query(`drop database "${d.name}" with (force)`)]);
}

async function checkpoint(cl: Clusters): Promise<void> {
  await Promise.all([cl.source.query('checkpoint'), cl.target.query('checkpoint')]);
}

/**
 * The target's marker table notifies at commit (NOTIFY is delivered when the inserting transaction
 * commits): ENABLE ALWAYS, because both consumers apply with session_replication_role = replica.
 */
const markerTrigger = `
create function public.bench_marker_applied() returns trigger language plpgsql as $$
begin
  perform pg_notify('bench_marker', new.id::text);
  return null;
end $$;
create trigger bench_marker_applied after insert on tandem.marker for each row execute function public.bench_marker_applied();
alter table tandem.marker enable always trigger bench_marker_applied;
`;

/**
 * A listener on the target, connected before a catch-up is timed: `applied` resolves with Date.now() when the marker row is
 * committed. Its session also serves to enable the native subscription (no connect inside the timed part).
 */
async function markerListener(targetUrl: string, marker: number): Promise<{ applied: Promise<number>; session: pg.Client; end: () => Promise<void> }> {
  const c = new pg.Client({ connectionString: targetUrl });
  await c.connect();
  let onApplied: (at: number) => void = () => undefined;
  const applied = new Promise<number>((res) => (onApplied = res));
  c.on('notification', (n) => {
    if (n.channel === 'bench_marker' && n.payload === String(marker)) onApplied(Date.now());
  });
  await c.query('listen bench_marker');
  return { applied, session: c, end: () => c.end() };
}

/** The backlog: marker 0, the workload, marker 1 (each marker its own source transaction). */
async function generate(d: Dbs, w: Workload): Promise<void> {
  await withClient(d.sourceUrl, async (c) => {
    await c.query('insert into tandem.marker values (0)');
    await w.run(c);
    await c.query('insert into tandem.marker values (1)');
  });
}

/** What a timed catch-up measured: all of it, until the first change was written, and between the two markers (ms). */
interface CatchUp {
  ms: number;
  firstMs: number;
  steadyMs: number;
}

/** Split a catch-up that started at `started` (Date.now()) and ended at `ms` by the target's stamps of the two markers. */
async function catchUp(session: pg.Client, started: number, ms: number): Promise<CatchUp> {
  const r = await session.query<{ id: number; at: string }>('select id, (extract(epoch from applied_at) * 1000)::float8 as at from tandem.marker order by id');
  const at = new Map(r.rows.map((x) => [x.id, Number(x.at)]));
  return { ms, firstMs: at.get(0)! - started, steadyMs: at.get(1)! - at.get(0)! };
}

/** CPU ms a catch-up cost: the source cluster (walsender), the target cluster (apply worker or Tandem's backends), Tandem's own process. */
interface CpuBudget {
  source: number;
  target: number;
  tandem?: number;
}

/** Start counting the clusters' CPU; the returned function reads what was spent since. */
function clustersCpu(cl: Clusters): () => { source: number; target: number } {
  const pids = { source: cl.source.pid()!, target: cl.target.pid()! };
  const s0 = clusterCpuMs(pids.source);
  const t0 = clusterCpuMs(pids.target);
  return () => ({ source: clusterCpuMs(pids.source) - s0, target: clusterCpuMs(pids.target) - t0 });
}

type Workload = { units: number; prefill?: (c: pg.Client) => Promise<void>; run: (c: pg.Client) => Promise<void> };

const bulk: Workload = {
  units: BULK_ROWS,
  run: async (c) => {
    for (let i = 0; i < BULK_ROWS; i += 1000)
      await c.query(`insert into tandem.bulk (id, a, b) select g, g % 1000, 'row ' || g from generate_series($1::bigint, $2::bigint) g`, [i + 1, Math.min(i + 1000, BULK_ROWS)]);
  },
};

const mixed: Workload = {
  units: SMALL_TXNS,
  // Updates change ids 10,001-20,000, deletes take ids from 20,001 on: every change finds its row (at
  // TANDEM_BENCH_SCALE > 3 the deletes used to reach the updated ids and ids never there, and those empty
  // source transactions were not sent at all).
  prefill: async (c) => {
    await c.query(`insert into tandem.mixed select g, 0, 'pre' from generate_series(1, $1::int) g`, [20_000 + Math.ceil(SMALL_TXNS / 3)]);
  },
  run: async (c) => {
    let next = 1_000_000_000;
    let del = 20_001;
    for (let i = 0; i < SMALL_TXNS; i++) {
      const k = i % 3;
      if (k === 0) await c.query('insert into tandem.mixed (id, n, note) values ($1, $2, $3)', [next++, i, 'new']);
      else if (k === 1) await c.query('update tandem.mixed set n = n + 1, note = $2 where id = $1', [(i % 10000) + 10001, 'upd']);
      else await c.query('delete from tandem.mixed where id = $1', [del++]);
    }
  },
};

const bigOf = (rows: number): Workload => ({
  units: rows,
  run: async (c) => {
    await c.query(`insert into tandem.bulk (id, a, b) select g, g % 1000, 'row ' || g from generate_series(1, $1::bigint) g`, [rows]);
  },
});

/** `tandem replicate` as its own process (its output kept for start-up detection and errors). */
function spawnReplicate(d: Dbs, extra: string[] = []): { child: ChildProcess; exited: Promise<number | null>; output: () => string; streaming: Promise<number> } {
  const started = Date.now();
  const prof = process.env.TANDEM_BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.TANDEM_BENCH_CPU_PROF}`] : [];
  const child = spawn(process.execPath, [...prof, path.join(repoRoot, 'bin/tandem.js'), 'replicate', '--source', d.sourceUrl, '--target', d.targetUrl, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let onStreaming: (ms: number) => void = () => undefined;
  const streaming = new Promise<number>((r) => (onStreaming = r));
  const take = (b: Buffer) => {
    out += b.toString('utf8');
    if (out.length > 200_000) out = out.slice(-100_000);
    if (/"msg":"streaming"|\bstreaming\b.*"from"/.test(out)) onStreaming(Date.now() - started);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, output: () => out, streaming };
}

/** Tandem: slot created by an empty initial sync, backlog generated, then timed catch-up. */
async function measureTandem(
  cl: Clusters,
  report: BenchReport,
  d: Dbs,
  w: Workload,
  asProcess = false,
  text = false,
): Promise<CatchUp & { rssMb?: number; cpu: CpuBudget }> {
  const binary = !text;
  if (w.prefill) await withClient(d.sourceUrl, w.prefill);
  await runReplicator({ sourceUrl: d.sourceUrl, targetUrl: d.targetUrl, untilCaughtUp: true, binary }); // initial copy (prefill) + slot
  report.progress(`${d.name}: generating the backlog (replicator stopped)`);
  await generate(d, w);
  await checkpoint(cl);
  const marker = await markerListener(d.targetUrl, 1);
  try {
    // In the benchmark's process, the replicator runs under the policy `tandem replicate` gives itself
    // (replicator/setup/scheduling.ts), for Tandem's catch-up only; set before the clock starts.
    if (!asProcess) await inProcessPolicy('batch');
    const clustersSpent = clustersCpu(cl);
    const started = Date.now();
    if (asProcess) {
      const p = spawnReplicate(d, ['--until-caught-up', ...(text ? ['--text'] : [])]);
      let peakKb = 0;
      let cpuMs = 0;
      const sample = () => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'));
          if (m) peakKb = Math.max(peakKb, Number(m[1]));
          cpuMs = Math.max(cpuMs, processCpuMs(p.child.pid!));
        } catch {
          /* the process has exited: keep the last sample */
        }
      };
      const sampling = setInterval(sample, 20);
      const failed = p.exited.then((code) => (code === 0 ? new Promise<never>(() => undefined) : Promise.reject(new Error(`tandem replicate exited with ${code}: ${p.output().slice(-2000)}`))));
      const ms = (await Promise.race([marker.applied, failed]).finally(() => clearInterval(sampling))) - started;
      sample();
      const cpu = { ...clustersSpent(), tandem: cpuMs };
      const code = await p.exited;
      if (code !== 0) throw new Error(`tandem replicate exited with ${code}: ${p.output().slice(-2000)}`);
      return { ...(await catchUp(marker.session, started, ms)), rssMb: peakKb / 1024, cpu };
    }
    // In the benchmark's process: its CPU is the replicator's (and the marker listener's, as for native).
    const ownStart = process.cpuUsage();
    const ac = new AbortController();
    const running = runReplicator({ sourceUrl: d.sourceUrl, targetUrl: d.targetUrl, signal: ac.signal, binary });
    running.catch(() => undefined);
    const ms = (await Promise.race([marker.applied, running.then((r) => Promise.reject(new Error(`replicator ended early: ${r.reason}`)))])) - started;
    const own = process.cpuUsage(ownStart);
    const cpu = { ...clustersSpent(), tandem: (own.user + own.system) / 1000 };
    ac.abort();
    await running;
    return { ...(await catchUp(marker.session, started, ms)), cpu };
  } finally {
    await marker.end();
    if (!asProcess) await inProcessPolicy('other');
  }
}

async function inProcessPolicy(policy: 'batch' | 'other'): Promise<void> {
  const failed = await setPolicy(policy);
  if (failed !== null) throw new Error(`cannot put the benchmark's process under the ${policy} scheduling policy: ${failed}`);
}

function createSubscription(d: Dbs, enabled: boolean, binary = false): string {
  return `create subscription bench_sub connection '${d.sourceUrl.replace(/'/g, "''")}' publication bench_pub with (copy_data = false, enabled = ${enabled}, binary = ${binary})`;
}

/** PostgreSQL's own: a disabled subscription (its slot holds the backlog), then ENABLE and time. */
async function measureNative(cl: Clusters, report: BenchReport, d: Dbs, w: Workload, binary = false): Promise<CatchUp & { cpu: CpuBudget }> {
  if (w.prefill) {
    await withClient(d.sourceUrl, w.prefill);
    await withClient(d.targetUrl, w.prefill);
  }
  await cl.source.query('create publication bench_pub for tables in schema tandem', [], d.name);
  await cl.target.query(createSubscription(d, false, binary), [], d.name);
  report.progress(`${d.name}: generating the backlog (subscription disabled)`);
  await generate(d, w);
  await checkpoint(cl);
  const marker = await markerListener(d.targetUrl, 1);
  try {
    const clustersSpent = clustersCpu(cl);
    const started = Date.now();
    await marker.session.query('alter subscription bench_sub enable');
    const ms = (await marker.applied) - started;
    const cpu = clustersSpent();
    return { ...(await catchUp(marker.session, started, ms)), cpu };
  } finally {
    await marker.end();
  }
}

/** The four consumers alternately (reversed every other round), REPS rounds; each on fresh databases after a checkpoint. */
/** Each consumer's measurements of a part, in round order. */
interface PartResult {
  /** Units per second over the whole catch-up. */
  rate: Record<Consumer, number[]>;
  /** Units per second between the first change and the last (the markers' target stamps). */
  steady: Record<Consumer, number[]>;
  /** Start until the first change was written, ms. */
  first: Record<Consumer, number[]>;
  cpu: Record<Consumer, CpuBudget[]>;
}

async function pairs(cl: Clusters, report: BenchReport, part: string, w: Workload): Promise<PartResult> {
  const perConsumer = <T>() => Object.fromEntries(CONSUMERS.map((c) => [c, [] as T[]])) as Record<Consumer, T[]>;
  const rate = perConsumer<number>();
  const steady = perConsumer<number>();
  const first = perConsumer<number>();
  const cpus = perConsumer<CpuBudget>();
  if (!AS_PROCESS) {
    // In the benchmark's process the first catch-up of each transfer also compiles the replicator's code
    // (measured: twice the CPU of the later ones), which would count against whichever runs first.
    for (const text of [false, true]) {
      const d = await createDbs(cl, `${part}_warmup_${text ? 'text' : 'binary'}`);
      await measureTandem(cl, report, d, w, false, text).finally(() => dropDbs(cl, d));
    }
  }
  for (let i = 1; i <= REPS; i++) {
    const order = i % 2 ? CONSUMERS : [...CONSUMERS].reverse();
    for (const who of order) {
      const d = await createDbs(cl, `${part}_${who}${i}`);
      try {
        const { ms, firstMs, steadyMs, cpu } =
          who === 'native' || who === 'native_binary'
            ? await measureNative(cl, report, d, w, who === 'native_binary')
            : await measureTandem(cl, report, d, w, AS_PROCESS, who === 'tandem_text');
        rate[who].push((w.units / ms) * 1000);
        steady[who].push((w.units / steadyMs) * 1000);
        first[who].push(firstMs);
        cpus[who].push(cpu);
        const spent = `CPU ms: source ${Math.round(cpu.source)}, target ${Math.round(cpu.target)}${cpu.tandem === undefined ? '' : `, Tandem ${Math.round(cpu.tandem)}`}`;
        report.progress(`${d.name}: ${Math.round((w.units / ms) * 1000)} per s (${ms} ms: first change after ${Math.round(firstMs)}, then ${Math.round(steadyMs)}; ${spent})`);
      } finally {
        await dropDbs(cl, d);
      }
    }
  }
  return { rate, steady, first, cpu: cpus };
}

/** Per round: a / b (the two were measured in the same round, next to each other). */
function ratios(a: number[], b: number[]): number[] {
  return a.map((x, i) => x / b[i]!);
}

/**
 * The CPU budget of a part, per 1,000 units (rows or transactions): each
 * process's and the total's median over the measurements (medians each, so the
 * parts need not add up to the total).
 */
const CONSUMER_NAMES: Record<Consumer, string> = {
  tandem: 'Tandem (binary transfer, its default)',
  tandem_text: 'Tandem with `--text`',
  native: 'PostgreSQL CREATE SUBSCRIPTION (text transfer, its default)',
  native_binary: 'PostgreSQL CREATE SUBSCRIPTION ... WITH (binary = true)',
};

/** A consumer's figure name: `replication.[native_]<base>[_text|_binary]`. */
function figureName(who: Consumer, base: string): string {
  const native = who === 'native' || who === 'native_binary';
  const suffix = who === 'tandem_text' ? '_text' : who === 'native_binary' ? '_binary' : '';
  return `replication.${native ? 'native_' : ''}${base}${suffix}`;
}

function cpuFigures(report: BenchReport, part: string, unit: string, units: number, cpu: Record<Consumer, CpuBudget[]>): void {
  const per1k = (ms: number) => (ms / units) * 1000;
  const total = (c: CpuBudget) => c.source + c.target + (c.tandem ?? 0);
  for (const who of CONSUMERS) {
    const xs = cpu[who];
    const of = (pick: (c: CpuBudget) => number) => median(xs.map((c) => per1k(pick(c))));
    const name = (suffix: string) => figureName(who, `cpu_ms_per_1k_${part}${suffix}`);
    const tandem = who === 'tandem' || who === 'tandem_text';
    report.figure(name(''), of(total), `${CONSUMER_NAMES[who]}: CPU ms per 1,000 ${unit} of the catch-up, source + target cluster${tandem ? ' + Tandem' : ''} (median of ${xs.length})`);
    report.figure(name('_source'), of((c) => c.source), 'of it: the source cluster (walsender)');
    report.figure(name('_target'), of((c) => c.target), tandem ? "of it: the target cluster (Tandem's sessions)" : 'of it: the target cluster (apply worker)');
    if (tandem) report.figure(name('_tandem'), of((c) => c.tandem ?? 0), `of it: Tandem's own process (${AS_PROCESS ? '`tandem replicate`' : "the benchmark's process, which runs the replicator"})`);
  }
}

/** The initial copy of BIG_ROWS bulk rows (resyncs of one database pair), binary and text alternately. */
async function measureInitialCopy(cl: Clusters, report: BenchReport): Promise<{ binary: number[]; text: number[] }> {
  const d = await createDbs(cl, 'copy');
  try {
    await withClient(d.sourceUrl, (c) => c.query(`insert into tandem.bulk (id, a, b) select g, g % 1000, 'row ' || g from generate_series(1, ${BIG_ROWS}) g`));
    const out = { binary: [] as number[], text: [] as number[] };
    for (let i = 1; i <= REPS; i++) {
      for (const binary of i % 2 ? [true, false] : [false, true]) {
        await checkpoint(cl);
        const started = Date.now();
        await runReplicator({ sourceUrl: d.sourceUrl, targetUrl: d.targetUrl, untilCaughtUp: true, resync: true, binary });
        const ms = Date.now() - started;
        (binary ? out.binary : out.text).push((BIG_ROWS / ms) * 1000);
        report.progress(`initial copy ${binary ? 'binary' : 'text'} ${i}: ${BIG_ROWS} rows in ${ms} ms`);
      }
    }
    return out;
  } finally {
    await dropDbs(cl, d);
  }
}

/** The throughput figures of a catch-up part: each consumer, and the ratios measured next to each other in each round. */
function throughputFigures(report: BenchReport, r: PartResult, names: { part: string; rate: string; ratio: string }, what: string): void {
  for (const who of CONSUMERS) spreadFigures(report, figureName(who, names.rate), r.rate[who], `${CONSUMER_NAMES[who]}: ${what}`);
  const ratio = (suffix: string, a: Consumer, b: Consumer) =>
    spreadFigures(report, `replication.${names.ratio}${suffix}`, ratios(r.rate[a], r.rate[b]), `${CONSUMER_NAMES[a]} / ${CONSUMER_NAMES[b]}, per round`);
  ratio('', 'tandem', 'native');
  ratio('_vs_native_binary', 'tandem', 'native_binary');
  ratio('_text', 'tandem_text', 'native');
  ratio('_binary_vs_text', 'tandem', 'tandem_text');
  // The catch-up in two: the consumer's start, then the rate from its first change to its last.
  for (const who of ['tandem', 'native'] as const)
    spreadFigures(report, figureName(who, `first_change_ms_${names.part}`), r.first[who], `${CONSUMER_NAMES[who]}: start of the catch-up until its first change was written on the target (ms)`);
  spreadFigures(
    report,
    `replication.${names.ratio}_steady`,
    ratios(r.steady.tandem, r.steady.native),
    `${CONSUMER_NAMES.tandem} / ${CONSUMER_NAMES.native} between each one's first change and its last (the start left out), per round`,
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function spreadFigures(report: BenchReport, name: string, xs: number[], description: string): void {
  report.figure(name, median(xs), `${description} (median of ${xs.length})`);
  if (xs.length > 1) {
    report.figure(`${name}_min`, Math.min(...xs), `spread of ${name}: lowest of ${xs.length}`);
    report.figure(`${name}_max`, Math.max(...xs), `spread of ${name}: highest of ${xs.length}`);
  }
}

/** Steady load of `rate` single-row transactions/s; lag = applied_at (target clock) - created_at (source clock, same machine). */
async function measureLag(cl: Clusters, report: BenchReport, who: Who, rate: number, seconds: number): Promise<{ p50: number; p99: number; n: number; achieved: number }> {
  const d = await createDbs(cl, `lag${rate}_${who}`);
  let proc: ReturnType<typeof spawnReplicate> | null = null;
  // Synchronous commits, as an application's: with synchronous_commit=off the source's WAL writer flushes
  // (and so the walsender sends) only every wal_writer_delay (200 ms), which both consumers would measure.
  const pool = new pg.Pool({ connectionString: d.sourceUrl, max: 16 });
  pool.on('error', (e) => process.stderr.write(`bench pool: an idle session was ended by the server: ${e.message}\n`));
  try {
    if (who === 'native') {
      await cl.source.query('create publication bench_pub for tables in schema tandem', [], d.name);
      await cl.target.query(createSubscription(d, true), [], d.name);
    } else {
      proc = spawnReplicate(d);
      proc.exited.then((code) => code !== null && code !== 0 && process.stderr.write(`tandem replicate exited with ${code}: ${proc!.output().slice(-2000)}\n`));
    }
    // Warm-up: wait until the consumer streams.
    await pool.query(`insert into tandem.lag values (0, clock_timestamp())`);
    await waitUntil(d.targetUrl, `select 1 from tandem.lag where id = 0`);
    await checkpoint(cl);
    report.progress(`${d.name}: ${rate} transactions/s for ${seconds} s`);
    const total = rate * seconds;
    const start = Date.now();
    const inflight: Promise<unknown>[] = [];
    for (let i = 1; i <= total; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      inflight.push(pool.query('insert into tandem.lag values ($1, clock_timestamp())', [i]));
      if (inflight.length > 200) await Promise.all(inflight.splice(0, 100));
    }
    await Promise.all(inflight);
    const took = (Date.now() - start) / 1000;
    report.progress(`${d.name}: generated ${total} transactions in ${took.toFixed(1)} s`);
    await waitUntil(d.targetUrl, `select 1 from tandem.lag where id = ${total}`);
    const rows = await withClient(d.targetUrl, async (c) => {
      return (await c.query(`select extract(epoch from applied_at - created_at) * 1000 as ms from tandem.lag where id > 0`)).rows as { ms: number }[];
    });
    const ms = rows.map((r) => Number(r.ms)).sort((a, b) => a - b);
    return { p50: percentile(ms, 50), p99: percentile(ms, 99), n: ms.length, achieved: total / took };
  } finally {
    await pool.end();
    if (proc) {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
    await dropDbs(cl, d);
  }
}

/** `tandem replicate` start → its "streaming" log line, with a slot and progress already there. */
async function measureStartup(cl: Clusters, report: BenchReport): Promise<number[]> {
  const d = await createDbs(cl, 'startup');
  try {
    await runReplicator({ sourceUrl: d.sourceUrl, targetUrl: d.targetUrl, untilCaughtUp: true });
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const p = spawnReplicate(d);
      const ms = await Promise.race([p.streaming, p.exited.then((c) => Promise.reject(new Error(`tandem replicate exited with ${c} before streaming: ${p.output().slice(-2000)}`)))]);
      p.child.kill('SIGTERM');
      await p.exited;
      times.push(ms);
      report.progress(`startup: ${ms} ms`);
    }
    return times;
  } finally {
    await dropDbs(cl, d);
  }
}

/** Peak RSS (MB) of `tandem ARGS`, reported by the process itself as it exits (median of 3). */
function peakRssMb(args: string[]): number {
  const atExit = 'process.on("exit", () => process.stderr.write(`maxrss ${process.resourceUsage().maxRSS}\\n`));';
  const kb: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(atExit)}`, path.join(repoRoot, 'bin/tandem.js'), ...args], { encoding: 'utf8' });
    const m = /maxrss (\d+)/.exec(r.stderr);
    if (r.status !== 0 || !m) throw new Error(`tandem ${args.join(' ')} exited with ${r.status}: ${r.stderr.slice(-2000)}`);
    kb.push(Number(m[1]));
  }
  return median(kb) / 1024;
}

async function waitUntil(url: string, sql: string): Promise<void> {
  await withClient(url, async (c) => {
    for (;;) {
      if ((await c.query(sql)).rowCount) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  });
}

const group: BenchGroup = async (report) => {
  const teardowns: Array<() => unknown> = [];
  const t = { teardown: (fn: () => unknown) => void teardowns.unshift(fn) };
  try {
    const [source, target] = await Promise.all([startPostgres(t, { name: 'bench-src' }), startPostgres(t, { name: 'bench-dst' })]);
    const cl: Clusters = { source, target };

    if (PARTS.has('bulk')) {
      const r = await pairs(cl, report, 'bulk', bulk);
      throughputFigures(report, r, { part: 'bulk', rate: 'rows_per_s_bulk', ratio: 'ratio_bulk' }, `${BULK_ROWS} rows in 1,000-row transactions, catch-up from a backlog`);
      cpuFigures(report, 'bulk', 'rows', BULK_ROWS, r.cpu);
    }

    if (PARTS.has('small')) {
      const r = await pairs(cl, report, 'small', mixed);
      throughputFigures(report, r, { part: 'small', rate: 'txn_per_s_small', ratio: 'ratio_small_txn' }, `${SMALL_TXNS} single-row transactions (INSERT/UPDATE/DELETE)`);
      cpuFigures(report, 'small', 'transactions', SMALL_TXNS, r.cpu);
    }

    if (PARTS.has('big')) {
      const w = bigOf(BIG_ROWS);
      const dn = await createDbs(cl, 'big_native');
      const nat = await measureNative(cl, report, dn, w).finally(() => dropDbs(cl, dn));
      const dt = await createDbs(cl, 'big_tandem');
      const ours = await measureTandem(cl, report, dt, w, true).finally(() => dropDbs(cl, dt));
      report.figure('replication.rows_per_s_big_txn', (BIG_ROWS / ours.ms) * 1000, `Tandem: one ${BIG_ROWS}-row transaction (process start included; one pair)`);
      report.figure('replication.native_rows_per_s_big_txn', (BIG_ROWS / nat.ms) * 1000, 'PostgreSQL CREATE SUBSCRIPTION, same transaction');
      report.figure('replication.big_tx_rss_mb', ours.rssMb ?? NaN, `peak RSS (VmHWM) of the \`tandem replicate\` process applying the ${BIG_ROWS}-row transaction`);
      if (BIG5M) {
        const d5 = await createDbs(cl, 'big5m_tandem');
        const r5 = await measureTandem(cl, report, d5, bigOf(5 * BIG_ROWS), true).finally(() => dropDbs(cl, d5));
        report.figure('replication.big_tx_rss_mb_5m', r5.rssMb ?? NaN, `same, one ${5 * BIG_ROWS}-row transaction (TANDEM_BENCH_BIG5M=1)`);
        report.figure('replication.rows_per_s_big_txn_5m', ((5 * BIG_ROWS) / r5.ms) * 1000, `Tandem: one ${5 * BIG_ROWS}-row transaction`);
      }
    }

    if (PARTS.has('lag')) {
      for (const [rate, seconds, suffix] of [
        [2000, LAG_SECONDS, '_2k'],
        [1000, LAG_SECONDS / 2, ''],
      ] as const) {
        const nat = await measureLag(cl, report, 'native', rate, seconds);
        const ours = await measureLag(cl, report, 'tandem', rate, seconds);
        report.figure(
          `replication.lag_p50_ms${suffix}`,
          ours.p50,
          `Tandem: commit on the source → applied on the target, ${rate} txn/s offered for ${seconds} s (the generator reached ${Math.round(ours.achieved)}/s; native's run ${Math.round(nat.achieved)}/s)`,
        );
        report.figure(`replication.lag_p99_ms${suffix}`, ours.p99, 'same, 99th percentile');
        report.figure(`replication.native_lag_p50_ms${suffix}`, nat.p50, 'PostgreSQL CREATE SUBSCRIPTION, same load, run just before');
        report.figure(`replication.native_lag_p99_ms${suffix}`, nat.p99, 'same, 99th percentile');
      }
    }

    if (PARTS.has('startup')) {
      const times = await measureStartup(cl, report);
      spreadFigures(report, 'replication.startup_ms', times, '`tandem replicate` process start → streaming, existing slot and progress');
      report.figure('replication.replicate_help_rss_mb', peakRssMb(['replicate', '--help']), 'peak RSS of `tandem replicate --help` (loading the command; median of 3)');
    }

    if (PARTS.has('copy')) {
      const r = await measureInitialCopy(cl, report);
      spreadFigures(report, 'replication.initial_copy_rows_per_s', r.binary, `Tandem's initial copy (binary transfer, the default): ${BIG_ROWS} bulk rows, a resync`);
      spreadFigures(report, 'replication.initial_copy_rows_per_s_text', r.text, 'the same with `--text` (COPY text format), run alternately');
      spreadFigures(report, 'replication.initial_copy_binary_vs_text', ratios(r.binary, r.text), 'binary / text, per round');
    }

    report.note(
      `One source and one target cluster (embedded PostgreSQL ${source.major}, default settings plus wal_level=logical, fsync on); every measurement on fresh ` +
        'databases dropped afterwards, both clusters checkpointed before the timed part. Native and Tandem alternate, each as shipped (native: text, Tandem: binary transfer) and with the other transfer; ratios are per round (side by side), ' +
        `figures are medians of ${REPS} with _min/_max. Throughput = catch-up from a backlog (the consumer stopped while the workload was generated) until a marker ` +
        'row committed after it is committed on the target (a trigger there notifies a listener connected beforehand; the same for both). Lag: Tandem as its own process. ' +
        'Tandem runs under SCHED_BATCH, as `tandem replicate` puts itself (in the benchmark\'s process: switched for its timed catch-ups only). On a shared 2-core machine the ' +
        `absolute figures are indicative; compare the ratios. Scale ${SCALE}.`,
    );
    report.note(
      'Tandem groups already-waiting small source transactions into one target transaction (each whole) and applies each table\'s changes ' +
        'set-based within it: inserts through one COPY kept open while they stream, deletes and updates as one statement per table and column ' +
        'shape that finds its rows through the key\'s index. See replicator/docs/performance.md.',
    );
  } finally {
    for (const fn of teardowns.splice(0)) await fn();
  }
};

export default group;
