/**
 * The member fence, as a condition that a statement writing a member's
 * execution includes (server/cluster/README.md, "Fencing"): true when no
 * generation is given (an engine outside a cluster, tests) or when the
 * member's row still has this generation and was not declared lost. The row
 * is read `for key share`: the recovery of a dead member takes it `for
 * update` before it marks it lost, so a write and a recovery of the same
 * member are serialised and exactly one of them wins (heartbeats, plain
 * updates of non-key columns, do not conflict with it).
 */
export function memberFenceSql(memberParam: string, generationParam: string): string {
  return `(${generationParam}::bigint is null or exists (
            select 1 from tandem_site.members fm
            where fm.name = ${memberParam}::text and fm.generation = ${generationParam}::bigint and fm.lost_at is null
            for key share of fm))`;
}

/** Who writes: a member name and the generation of its incarnation (null: not fenced). */
export interface WriterFence {
  member: string;
  generation: number | null;
}
