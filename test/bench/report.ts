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

/** The heading of REPORT.md's hand-written part: earlier measurements and what changed between them. */
export const HISTORY_HEADING = '## History';

/**
 * REPORT.md as `make bench` writes it: the generated figures, then the
 * History section of the previous REPORT.md kept as it was (a run replaces
 * the figures, never the record of earlier ones).
 */
export function withHistory(generated: string, previous: string | null): string {
  const at = previous ? previous.search(new RegExp(`^${HISTORY_HEADING}$`, 'm')) : -1;
  if (at < 0) return generated;
  return `${generated.trimEnd()}\n\n${previous!.slice(at).trimEnd()}\n`;
}

/**
 * The notes of earlier TANDEM_BENCH_PARTS runs that still hold after a run
 * of `parts`: each keeps the parts this run did not measure again (so that
 * every figure still names the run it came from); a note whose parts all
 * ran again is dropped. Other notes are the group's own and are written anew.
 */
export function partsRunBefore(previousNotes: string[], parts: string): string[] {
  const now = new Set(parts.split(',').map((p) => p.trim()));
  const kept: string[] = [];
  for (const note of previousNotes) {
    const m = /^Parts (\S+) ran at (\S+) \(TANDEM_BENCH_PARTS\)/.exec(note);
    if (!m) continue;
    const left = m[1]!.split(',').filter((p) => !now.has(p));
    if (left.length) kept.push(`Parts ${left.join(',')} ran at ${m[2]} (TANDEM_BENCH_PARTS).`);
  }
  return kept;
}
