/**
 * Shared set-up for replicator tests: a source and a target cluster (real
 * PostgreSQL from the harness), the same DDL on both, and per-table checksums.
 */
import pg from 'pg';
import { startPostgres, type TestPostgres, type StartPostgresOptions } from '../harness/postgres.js';
import type { Teardown } from '../harness/tmp.js';
import { waitFor as harnessWaitFor } from '../harness/wait.js';

export interface Pair {
  source: TestPostgres;
  target: TestPostgres;
  sourceUrl: string;
  targetUrl: string;
  /** Run SQL on the source database. */
  src(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  dst(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
}

export async function startPair(t: Teardown, ddl: string, opts: { source?: StartPostgresOptions; target?: StartPostgresOptions } = {}): Promise<Pair> {
  const [source, target] = await Promise.all([
    startPostgres(t, { name: 'source', ...opts.source }),
    startPostgres(t, { name: 'target', ...opts.target }),
  ]);
  const [sourceUrl, targetUrl] = await Promise.all([source.createDatabase('app'), target.createDatabase('app')]);
  await Promise.all([source.query(ddl, [], 'app'), target.query(ddl, [], 'app')]);
  return {
    source,
    target,
    sourceUrl,
    targetUrl,
    src: (sql, params) => source.query(sql, params, 'app'),
    dst: (sql, params) => target.query(sql, params, 'app'),
  };
}

/** md5 of every row's text form, ordered: equal checksums mean equal tables. */
export async function checksum(q: (sql: string) => Promise<pg.QueryResult>, table: string): Promise<{ rows: number; md5: string | null }> {
  const res = await q(`select count(*)::int as rows, md5(string_agg(x.t, E'\\n' order by x.t)) as md5 from (select r::text as t from ${table} r) x`);
  return res.rows[0] as { rows: number; md5: string | null };
}

/** The harness's waitFor (test/harness/wait.ts) with this area's default: a catch-up may take long on a busy machine. */
export function waitFor<T>(what: string, cond: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 120_000, everyMs = 50): Promise<T> {
  return harnessWaitFor(what, cond, timeoutMs, everyMs);
}

/**
 * Start a replicator in the background; it is stopped (and awaited) at the
 * test's teardown even when the test fails, and its failure never becomes an
 * unhandled rejection.
 */
export function background(
  t: Teardown,
  opts: import('../../replicator/index.js').ReplicatorOptions,
): { ac: AbortController; done: Promise<import('../../replicator/index.js').ReplicatorResult>; check(): void } {
  const ac = new AbortController();
  const done = import('../../replicator/index.js').then((m) => m.runReplicator({ ...opts, signal: ac.signal }));
  let failure: Error | null = null;
  // Shown when the test times out waiting for a replicator that had already failed.
  done.catch((e: Error) => {
    failure = e;
    process.stderr.write(`background replicator stopped: ${e.message}\n`);
  });
  t.teardown(async () => {
    ac.abort();
    await done.catch(() => undefined);
  });
  return {
    ac,
    done,
    /** Throws the replicator's error once it has stopped with one (use inside a `waitFor` condition to fail fast). */
    check() {
      if (failure) throw new Error(`the background replicator stopped: ${failure.message}`);
    },
  };
}
