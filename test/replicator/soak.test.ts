/**
 * Soak, short version (issue 16, reliability; `make soak` runs the long one:
 * 100 kills, 10 restarts of each database). Under a mixed workload — single
 * rows, bulk inserts, unchanged TOAST values, deletes, truncates and one
 * 500,000-row transaction — the `tandem replicate` process is killed with
 * SIGKILL 10 times at random moments (once while it applies the big
 * transaction), and the source and the target PostgreSQL are each restarted
 * twice with an immediate shutdown. After every fault the target equals the
 * source byte-exactly and holds each source transaction's ledger row once
 * (test/replicator/soak-workload.ts). Needs the compiled CLI
 * (`npx tsc -p tsconfig.json`). TANDEM_SOAK_SEED repeats an order of faults.
 */
import t from 'tap';
import { runSoak } from './soak-workload.js';

t.test('kill -9 of the replicator and immediate restarts of source and target under a mixed workload: target equals source after each', async (t) => {
  const seed = process.env.TANDEM_SOAK_SEED ? Number(process.env.TANDEM_SOAK_SEED) : undefined;
  const r = await runSoak(t, {
    kills: 10,
    sourceRestarts: 2,
    targetRestarts: 2,
    bigTransactions: 1,
    seed,
    progress: (line) => t.comment(line),
  });
  for (const round of r.rounds)
    t.ok(round.equal, `round ${round.n + 1} (${round.event}${round.big ? ', big transaction' : ''}): target equals source${round.problem ? `: ${round.problem}` : ''}`);
  t.same({ kills: r.kills, sourceRestarts: r.sourceRestarts, targetRestarts: r.targetRestarts }, { kills: 10, sourceRestarts: 2, targetRestarts: 2 }, 'every fault ran');
  t.equal(r.mismatches, 0, `no mismatch in ${r.rounds.length} rounds (seed ${r.seed}, ${r.transactions} source transactions, ${Math.round(r.ms / 1000)} s)`);
  t.ok(r.transactions > 100, `the workload ran ${r.transactions} transactions`);
});
