/**
 * Regular expressions written by users (option `regex`, ACL `match` and
 * `context.project`) run on RE2 semantics (the `re2js` package): matching
 * takes time linear in the input, whatever the pattern. JavaScript's own
 * engine backtracks: `^(a+)+$` against thirty `a`s and a `b` blocked the
 * event loop (and so every request of the member) for over a minute.
 *
 * RE2 leaves out what cannot run in linear time: backreferences (`\1`),
 * lookahead and lookbehind (`(?=`, `(?!`, `(?<=`, `(?<!`), possessive and
 * atomic groups. Such a pattern is refused where it is written (job import,
 * policy load) with RE2's own explanation, never accepted and run slowly.
 *
 * Matching is whole-value (Java's `String.matches`, as Rundeck does): `abc`
 * does not match `xabcx`.
 */
import { RE2JS } from 're2js';
import { TandemError } from '../errors.js';

export interface UserPattern {
  /** The pattern as written. */
  readonly source: string;
  /** True when the whole of `text` matches. */
  test(text: string): boolean;
}

/** Compiled patterns by source: options are checked on every run, compiling each time would cost more than matching. */
const cache = new Map<string, UserPattern>();
const CACHE_MAX = 1000;

/**
 * Compile a user-supplied pattern, or throw `validation_failed` saying why
 * (with `field` when given). The message names what RE2 refused.
 */
export function compileUserPattern(source: string, field?: string): UserPattern {
  const hit = cache.get(source);
  if (hit) return hit;
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (e) {
    throw new TandemError('validation_failed', `${userPatternProblem(e, source)}: ${JSON.stringify(source)}`, field ? { field } : undefined);
  }
  // testExact: whole-input match without capture groups, which keeps RE2 on its DFA (faster than matches()).
  const p: UserPattern = { source, test: (text) => re.testExact(text) };
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
  cache.set(source, p);
  return p;
}

/** Why RE2 refused a pattern, in words a job author can act on. */
export function userPatternProblem(e: unknown, source: string): string {
  const why = e instanceof Error ? e.message.replace(/^error parsing regexp: /, '') : String(e);
  // RE2 reports lookbehind as a bad named group and a backreference as a bad escape: say what the author used.
  const unsupported = /\(\?<?[=!]|\(\?>|\\[1-9]|\\k<|[*+?}][+]/.test(source) || /Perl syntax/.test(why);
  return unsupported
    ? `not a supported regular expression (${why}); patterns run on RE2, in linear time, which has no backreferences or lookaround`
    : `not a valid regular expression (${why})`;
}
