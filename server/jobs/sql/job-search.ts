/**
 * The search of the Jobs page (`?q=`, `?group=`) as SQL conditions: `q` is a
 * case-insensitive substring of the name or the group path, matched with
 * ILIKE on a parameter whose LIKE wildcards are escaped, so a user's `%` or
 * `_` is a plain character and no pattern of theirs is ever compiled.
 */
export interface JobSearch {
  projectId: string;
  /** Substring of the name or group path (case-insensitive); '' or undefined: every job. */
  q?: string;
  /** Exact group path ('' = jobs outside any group); undefined: every group. */
  group?: string;
}

/** `50%_off\` → `50\%\_off\\`: LIKE's wildcards and its escape character (backslash) taken literally. */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => '\\' + c);
}

/** The where clause (alias `j`) and its values, starting at parameter `$1`. */
export function jobSearchWhere(s: JobSearch): { where: string; values: unknown[] } {
  // Always the same text with nullable parameters, so each statement stays one named, prepared plan.
  return {
    where: `j.project_id = $1
      and ($2::text is null or j.name ilike $2::text or j.group_path ilike $2::text)
      and ($3::text is null or j.group_path = $3::text)`,
    values: [s.projectId, s.q ? `%${escapeLike(s.q)}%` : null, s.group ?? null],
  };
}
