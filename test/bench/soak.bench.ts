/**
 * `make soak` (= `node dist/test/bench/run.js soak`; not part of `make bench`
 * nor `make test`): the long soak of test/replicator/soak-workload.ts. Under a
 * mixed workload the `tandem replicate` process is killed with SIGKILL 100
 * times at random moments (four of them while it applies a 500,000-row
 * transaction), and the source and the target PostgreSQL are each restarted 10
 * times with an immediate shutdown; after each fault the target must equal the
 * source byte-exactly with every source transaction's ledger row once.
 * Writes replication.soak_* figures (kills, restarts, mismatches: must be 0).
 * TANDEM_SOAK_KILLS, TANDEM_SOAK_SOURCE_RESTARTS, TANDEM_SOAK_TARGET_RESTARTS
 * change the counts; TANDEM_SOAK_SEED repeats an order of faults.
 */
import { runSoak } from '../replicator/soak-workload.js';
import type { BenchGroup } from './report.js';

const count = (name: string, dflt: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v}: not a count (a whole number, 0 or more)`);
  return n;
};

const soak: BenchGroup = async (report) => {
  const kills = count('TANDEM_SOAK_KILLS', 100);
  const sourceRestarts = count('TANDEM_SOAK_SOURCE_RESTARTS', 10);
  const targetRestarts = count('TANDEM_SOAK_TARGET_RESTARTS', 10);
  const seed = process.env.TANDEM_SOAK_SEED ? count('TANDEM_SOAK_SEED', 0) : undefined;
  const teardowns: Array<() => unknown> = [];
  const t = { teardown: (fn: () => unknown) => void teardowns.unshift(fn) };
  try {
    const r = await runSoak(t, {
      kills,
      sourceRestarts,
      targetRestarts,
      // One 500,000-row transaction per 25 kills, each met by a kill during its apply.
      bigTransactions: Math.max(1, Math.round(kills / 25)),
      seed,
      progress: (line) => report.progress(line),
    });
    const catchUps = r.rounds.map((x) => x.catchUpMs).sort((a, b) => a - b);
    report.figure('replication.soak_kills', r.kills, '`make soak`: kill -9 of the replicator at random moments under the mixed workload, each followed by a byte-exact comparison');
    report.figure('replication.soak_source_restarts', r.sourceRestarts, '`make soak`: immediate shutdowns and restarts of the source PostgreSQL');
    report.figure('replication.soak_target_restarts', r.targetRestarts, '`make soak`: immediate shutdowns and restarts of the target PostgreSQL');
    report.figure('replication.soak_mismatches', r.mismatches, '`make soak`: faults after which the target did not catch up to a byte-exact copy of the source with each ledger row once (must be 0)');
    report.figure('replication.soak_transactions', r.transactions, '`make soak`: source transactions of the workload (each with its ledger row)');
    report.figure('replication.soak_catch_up_p50_ms', catchUps[Math.floor(catchUps.length / 2)] ?? 0, '`make soak`: median time from a fault to the target equal to the source (restart of the replicator or database, catch-up, comparison)');
    report.figure('replication.soak_minutes', r.ms / 60_000, '`make soak`: duration of the whole soak');
    report.note(
      `Soak (\`make soak\`, seed ${r.seed}): ${r.kills} kills (${r.rounds.filter((x) => x.big).length} during a 500,000-row transaction), ` +
        `${r.sourceRestarts} source and ${r.targetRestarts} target immediate restarts under single-row, bulk, TOAST, delete and truncate transactions; ` +
        `${r.mismatches} mismatches over ${r.transactions} source transactions. Figures replication.soak_*.`,
    );
    for (const x of r.rounds.filter((x) => !x.equal)) report.note(`Soak mismatch in round ${x.n + 1} (${x.event}): ${x.problem}`);
    if (r.mismatches > 0) throw new Error(`${r.mismatches} mismatch(es) in ${r.rounds.length} rounds (seed ${r.seed})`);
  } finally {
    for (const fn of teardowns.splice(0)) await fn();
  }
};
export default soak;
