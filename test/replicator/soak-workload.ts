/**
 * The soak (issue 16, reliability), shared by test/replicator/soak.test.ts
 * (short) and `make soak` (test/bench/soak.ts, long): a mixed workload on the
 * source — single-row updates, bulk inserts, updates that leave a TOAST value
 * unchanged, deletes, truncates and one 500,000-row transaction now and then —
 * while the replicator (the real `tandem replicate` process) is killed with
 * SIGKILL at random moments, and the source and the target PostgreSQL are
 * restarted with an immediate shutdown (crash recovery at start).
 *
 * After each fault the workload pauses and the replicator catches up; then
 * the target must equal the source:
 * - the ledger: every workload transaction inserts one row with a unique id
 *   into tandem.ledger, in the same transaction, so a transaction lost or
 *   applied twice shows as a missing row or a duplicate key (which stops the
 *   replicator) and the counts differ;
 * - every table byte-exactly: count and md5 of the text of all rows ordered
 *   bytewise, read under the replicator's pinned session settings on both
 *   sides (as test/replicator/types-matrix.test.ts compares).
 * A round whose target does not catch up or differs is a mismatch.
 */
import pg from 'pg';
import { SOURCE_SESSION_OPTIONS } from '../../replicator/stream/connection.js';
import type { Teardown } from '../harness/tmp.js';
import { startPair, waitFor, type Pair } from './helpers.js';
import { spawnTandem, type Running } from './cli.js';

/** One row per workload transaction, written in it. */
export const ledgerDdl = `create table tandem.ledger (id bigint primary key, kind text not null, at timestamptz not null default clock_timestamp());`;

const soakDdl = `
create schema tandem;
${ledgerDdl}
create table tandem.accounts (id int primary key, balance numeric(20,2) not null, note text);
create table tandem.events (id bigserial primary key, account int not null, payload jsonb not null);
-- body is stored out of line (TOAST): updates of n leave it unchanged, sent by pgoutput as "unchanged TOAST".
create table tandem.docs (id int primary key, n int not null, body text not null);
alter table tandem.docs alter column body set storage external;
create table tandem.scratch (id int primary key, v text);
create table tandem.big (id int primary key, pad text not null);
`;
export const SOAK_TABLES = ['ledger', 'accounts', 'events', 'docs', 'scratch', 'big'];

/** Two sessions with the replicator's pinned settings, so that the text compared means the same on both sides. */
export async function openCompareClients(t: Teardown, sourceUrl: string, targetUrl: string): Promise<[pg.Client, pg.Client]> {
  const open = async (url: string) => {
    const c = new pg.Client({ connectionString: url, options: SOURCE_SESSION_OPTIONS });
    c.on('error', () => undefined);
    await c.connect();
    t.teardown(() => c.end().catch(() => undefined));
    return c;
  };
  return Promise.all([open(sourceUrl), open(targetUrl)]);
}

/** Count and md5 of every row's text, ordered bytewise, per table of schema tandem. */
async function digest(c: pg.Client, tables: string[]): Promise<Map<string, string>> {
  const sql = tables
    .map((tb) => `select '${tb}' as t, count(*)::int as n, md5(coalesce(string_agg(r::text, E'\\n' order by r::text collate "C"), '')) as h from tandem.${tb} r`)
    .join('\nunion all\n');
  return new Map((await c.query<{ t: string; n: number; h: string }>(sql)).rows.map((r) => [r.t, `${r.n} ${r.h}`]));
}

/** The tables whose contents differ between source and target (byte-exact), [] when equal. */
export async function tablesDiffering(src: pg.Client, dst: pg.Client, tables: string[]): Promise<string[]> {
  const [a, b] = await Promise.all([digest(src, tables), digest(dst, tables)]);
  return tables.filter((tb) => a.get(tb) !== b.get(tb));
}

/** A small deterministic generator (mulberry32), so that a failing soak can be repeated with its seed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Workload sessions on the source. Each transaction inserts its ledger row.
 * `pause()` resolves once no transaction is in flight. A session whose
 * connection is lost (a source restart) connects again; the outcome of the
 * transaction it was in is then unknown, which is why the ledger is compared
 * with the source's, not with a count kept here.
 */
class Workload {
  private nextId = 0;
  private paused = false;
  private stopped = false;
  private parked = 0;
  private wake: Array<() => void> = [];
  private readonly loops: Promise<void>[] = [];
  private bigPending = false;
  bigDone = 0;
  committed = 0;
  failed = 0;

  constructor(
    private readonly url: string,
    private readonly rnd: () => number,
    sessions: number,
  ) {
    for (let i = 0; i < sessions; i++) this.loops.push(this.loop());
  }

  /** The 500,000-row transaction runs next on one session (resolves when it committed). */
  async bigTransaction(): Promise<void> {
    const before = this.bigDone;
    this.bigPending = true;
    await waitFor('the 500,000-row source transaction', () => this.bigDone > before, 300_000, 100);
  }

  async pause(): Promise<void> {
    this.paused = true;
    await waitFor('the workload to pause', () => this.parked === this.loops.length, 120_000, 10);
  }

  resume(): void {
    this.paused = false;
    for (const w of this.wake.splice(0)) w();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.resume();
    await Promise.all(this.loops);
  }

  private async connect(): Promise<pg.Client> {
    for (;;) {
      const c = new pg.Client({ connectionString: this.url });
      c.on('error', () => undefined);
      try {
        await c.connect();
        return c;
      } catch {
        await c.end().catch(() => undefined);
        // The source is restarting: try again shortly (a load generator's pace, not a test's wait).
        await new Promise((r) => setTimeout(r, 100));
      }
      if (this.stopped) throw new Error('stopped');
    }
  }

  private async loop(): Promise<void> {
    let c: pg.Client | null = null;
    while (!this.stopped) {
      if (this.paused) {
        this.parked++;
        await new Promise<void>((r) => this.wake.push(r));
        this.parked--;
        continue;
      }
      try {
        c ??= await this.connect();
        await this.transaction(c);
        this.committed++;
      } catch {
        this.failed++;
        await c?.end().catch(() => undefined);
        c = null;
      }
      // Pace: a few hundred transactions per second leave the cores to the replicator and the databases.
      await new Promise((r) => setTimeout(r, 3));
    }
    await c?.end().catch(() => undefined);
  }

  private async transaction(c: pg.Client): Promise<void> {
    const id = ++this.nextId; // unique across the sessions (one counter)
    const r = this.rnd();
    const big = this.bigPending;
    if (big) this.bigPending = false;
    const kind = big ? 'big' : r < 0.5 ? 'single' : r < 0.62 ? 'bulk' : r < 0.77 ? 'toast' : r < 0.9 ? 'delete' : r < 0.96 ? 'scratch' : 'truncate';
    const acct = 1 + Math.floor(this.rnd() * 200);
    await c.query('begin');
    try {
      await c.query('insert into tandem.ledger (id, kind) values ($1, $2)', [id, kind]);
      switch (kind) {
        case 'big':
          // Replaces the previous big set: a truncate and 500,000 inserts in one transaction.
          await c.query('truncate tandem.big');
          await c.query(`insert into tandem.big select g, md5(g::text) || $1 from generate_series(1, 500000) g`, [`-${id}`]);
          break;
        case 'single':
          await c.query('update tandem.accounts set balance = balance + 1.01, note = $2 where id = $1', [acct, `txn ${id}`]);
          await c.query(`insert into tandem.events (account, payload) values ($1, jsonb_build_object('txn', $2::bigint))`, [acct, id]);
          break;
        case 'bulk':
          await c.query(`insert into tandem.events (account, payload) select $1, jsonb_build_object('txn', $2::bigint, 'g', g) from generate_series(1, 1000) g`, [acct, id]);
          break;
        case 'toast': {
          const doc = 1 + Math.floor(this.rnd() * 50);
          // Mostly the small column only (the big body travels as "unchanged TOAST"); now and then the body.
          if (this.rnd() < 0.15) await c.query(`update tandem.docs set body = repeat(md5($2::text), 400), n = n + 1 where id = $1`, [doc, id]);
          else await c.query('update tandem.docs set n = n + 1 where id = $1', [doc]);
          break;
        }
        case 'delete':
          // The oldest 2,000: keeps the table (and each round's comparison) from growing without end.
          await c.query('delete from tandem.events where id in (select id from tandem.events order by id limit 2000)');
          await c.query('delete from tandem.accounts where id = $1', [acct]);
          await c.query(`insert into tandem.accounts values ($1, 0, 'again') on conflict (id) do nothing`, [acct]);
          break;
        case 'scratch':
          await c.query(`insert into tandem.scratch select g, md5(g::text) from generate_series($1::int * 100, $1::int * 100 + 99) g on conflict do nothing`, [id % 10_000]);
          break;
        case 'truncate':
          // With the big transaction's 500,000 rows when there are some.
          await c.query('truncate tandem.scratch, tandem.big');
          break;
      }
      await c.query('commit');
      if (big) this.bigDone++;
    } catch (e) {
      if (big) this.bigPending = true;
      throw e;
    }
  }
}

export type SoakEvent = 'kill' | 'source_restart' | 'target_restart';

export interface SoakOptions {
  kills: number;
  sourceRestarts: number;
  targetRestarts: number;
  /** The 500,000-row transaction runs in this many rounds, spread evenly (default 1); a kill meets its apply. */
  bigTransactions?: number;
  seed?: number;
  progress?: (line: string) => void;
}

export interface SoakRound {
  n: number;
  event: SoakEvent;
  /** With the 500,000-row transaction. */
  big: boolean;
  /** Target equal to the source after the round. */
  equal: boolean;
  /** What differed or failed, when not equal. */
  problem?: string;
  /** From the fault to equality. */
  catchUpMs: number;
  /** Of which: the byte-exact comparison. */
  compareMs: number;
}

export interface SoakResult {
  seed: number;
  rounds: SoakRound[];
  kills: number;
  sourceRestarts: number;
  targetRestarts: number;
  mismatches: number;
  /** Source transactions in the ledger at the end. */
  transactions: number;
  ms: number;
}

export async function runSoak(t: Teardown, o: SoakOptions): Promise<SoakResult> {
  const started = Date.now();
  const seed = o.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rnd = random(seed);
  const say = o.progress ?? (() => undefined);
  say(`seed ${seed} (TANDEM_SOAK_SEED=${seed} repeats this order of faults)`);
  // Long catch-ups wait on a source restart: the walsender is gone at once, a killed replicator's connection too.
  const p: Pair = await startPair(t, soakDdl);
  await p.src(`insert into tandem.accounts select g, 1000, 'acct ' || g from generate_series(1, 200) g`);
  await p.src(`insert into tandem.docs select g, 0, repeat(md5(g::text), 400) from generate_series(1, 50) g`);
  const args = ['replicate', '--source', p.sourceUrl, '--target', p.targetUrl, '--slot', 'soak_site'];

  const events: SoakEvent[] = [
    ...Array<SoakEvent>(o.kills).fill('kill'),
    ...Array<SoakEvent>(o.sourceRestarts).fill('source_restart'),
    ...Array<SoakEvent>(o.targetRestarts).fill('target_restart'),
  ];
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [events[i], events[j]] = [events[j]!, events[i]!];
  }
  // The big transaction's rounds end with a kill (during its apply): move kills there.
  const bigCount = Math.min(o.bigTransactions ?? 1, o.kills);
  const bigRounds = new Set<number>();
  for (let b = 0; b < bigCount; b++) {
    const at = Math.min(events.length - 1, Math.floor(((b + 0.5) * events.length) / bigCount));
    const k = events.findIndex((e, i) => i >= at && e === 'kill' && !bigRounds.has(i));
    const idx = k >= 0 ? k : events.findIndex((e, i) => e === 'kill' && !bigRounds.has(i));
    bigRounds.add(idx);
  }

  let compare: [pg.Client, pg.Client] = await openCompareClients(t, p.sourceUrl, p.targetUrl);
  const reopenCompare = async () => {
    await Promise.all(compare.map((c) => c.end().catch(() => undefined)));
    compare = await openCompareClients(t, p.sourceUrl, p.targetUrl);
  };
  const ledgerCount = async (c: pg.Client) => Number((await c.query<{ n: string }>('select count(*) as n from tandem.ledger')).rows[0]!.n);
  const work = new Workload(p.sourceUrl, rnd, 2);
  t.teardown(() => work.stop());

  let proc: Running | null = null;
  const spawn = () => {
    proc = spawnTandem(t, args);
    return proc;
  };
  /** The replicator must be running; one that exited on its own is a failure of the round. */
  const exitedOnItsOwn = (): string | null => {
    const r = proc;
    if (!r || (r.child.exitCode === null && r.child.signalCode === null)) return null;
    return `the replicator exited (code ${r.child.exitCode}, signal ${r.child.signalCode}): ${r.stderr().split('\n').filter(Boolean).slice(-3).join(' | ').slice(0, 1500)}`;
  };

  const rounds: SoakRound[] = [];
  spawn();
  try {
    for (let n = 0; n < events.length; n++) {
      const event = events[n]!;
      const big = bigRounds.has(n);
      let problem: string | undefined;
      work.resume();
      const applied0 = await ledgerCount(compare[1]).catch(() => 0);
      try {
        if (big) {
          await work.bigTransaction();
          // Kill while the target applies it: once its COPY into tandem.big is under way on the target.
          await waitFor('the big transaction being applied on the target', async () => {
            const r = await compare[1].query<{ n: string }>(`select coalesce(max(tuples_processed), 0)::text as n from pg_stat_progress_copy where relid = 'tandem.big'::regclass`);
            return Number(r.rows[0]!.n) > 0;
          }, 120_000, 10).catch(() => {
            problem = 'the kill missed the big transaction (its apply was not seen under way)';
          });
        } else {
          // A random moment: after a random number (1..60) of transactions applied in this round.
          const want = applied0 + 1 + Math.floor(rnd() * 60);
          await waitFor(`round ${n}: the replicator applying`, async () => {
            const why = exitedOnItsOwn();
            if (why) throw new Error(why);
            return (await ledgerCount(compare[1])) >= want;
          }, 120_000, 20);
        }
      } catch (e) {
        problem = `before the fault: ${(e as Error).message}`;
      }
      const faultAt = Date.now();
      const running = proc as Running | null;
      if (event === 'kill') {
        running?.child.kill('SIGKILL');
        await running?.exited;
      } else {
        const db = event === 'source_restart' ? p.source : p.target;
        await db.stop('immediate');
        await db.start();
        await reopenCompare();
      }
      await work.pause();
      if (event === 'kill' || exitedOnItsOwn()) {
        if (event !== 'kill') problem ??= exitedOnItsOwn() ?? undefined;
        spawn();
      }
      // Caught up: the target holds every ledger row of the source (each is its transaction, applied whole).
      let equal = false;
      let compareMs = 0;
      try {
        const expected = await ledgerCount(compare[0]);
        await waitFor(`round ${n} (${event}): target ledger reaching ${expected} rows`, async () => {
          const why = exitedOnItsOwn();
          if (why) throw new Error(why);
          return (await ledgerCount(compare[1])) === expected;
        }, 300_000, 25);
        const compareStart = Date.now();
        const differing = await tablesDiffering(compare[0], compare[1], SOAK_TABLES);
        compareMs = Date.now() - compareStart;
        if (differing.length) problem ??= `tables differ: ${differing.join(', ')}`;
        else equal = !problem;
      } catch (e) {
        problem ??= (e as Error).message;
      }
      const round: SoakRound = { n, event, big, equal, problem, catchUpMs: Date.now() - faultAt, compareMs };
      rounds.push(round);
      const transactions = await ledgerCount(compare[0]);
      say(
        `round ${n + 1}/${events.length}: ${event.replace('_', ' ')}${big ? ' during the 500,000-row transaction' : ''}; ` +
          `${equal ? 'target equals source' : `MISMATCH: ${problem}`} after ${round.catchUpMs} ms (comparison ${compareMs} ms); ${transactions} source transactions so far`,
      );
      if (!equal && exitedOnItsOwn()) spawn();
    }
  } finally {
    await work.stop();
    const r = proc as Running | null;
    if (r && r.child.exitCode === null && r.child.signalCode === null) {
      r.child.kill('SIGTERM');
      await r.exited;
    }
  }
  const transactions = await ledgerCount(compare[0]);
  return {
    seed,
    rounds,
    kills: rounds.filter((r) => r.event === 'kill').length,
    sourceRestarts: rounds.filter((r) => r.event === 'source_restart').length,
    targetRestarts: rounds.filter((r) => r.event === 'target_restart').length,
    mismatches: rounds.filter((r) => !r.equal).length,
    transactions,
    ms: Date.now() - started,
  };
}
