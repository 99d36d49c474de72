/**
 * What a benchmark group writes into: named figures (units in the name, e.g.
 * `replication.rows_per_s_bulk`), notes for the Markdown report, and
 * progress lines a person can follow while it runs.
 */
export interface BenchReport {
  /** Record a figure; `name` must start with the group name and carry its unit. */
  figure(name: string, value: number, description?: string): void;
  /** A sentence for REPORT.md (method, workload, caveats). */
  note(text: string): void;
  progress(text: string): void;
}

/** A benchmark group: `test/bench/<group>.bench.ts` default-exports one. */
export type BenchGroup = (report: BenchReport) => Promise<void>;

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}
