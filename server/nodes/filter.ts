/**
 * Rundeck's node filter language, as its NodeSet (core/.../utils/NodeSet.java)
 * evaluates it. Pure: no I/O. Parse once (`parseNodeFilter`), then match many
 * nodes (`matcher`), so that every regular expression is compiled once.
 *
 * Syntax: whitespace-separated tokens (single or double quotes keep spaces
 * inside a token). `key: value` or `key:value`; a token without a key means
 * `name:`. A `!` before the key makes the token an exclusion. A repeated key
 * joins its values with commas. Keys are `name`, `hostname`, `tags`,
 * `os-name`, `os-family`, `os-arch`, `os-version` or any attribute name.
 *
 * Value matching (Rundeck's matchesInput / matchRegexOrEquals): the node's
 * value must be non-empty; the value is tried as a regular expression that
 * must match the WHOLE attribute (`web.*`), else compared as text, else split
 * on commas and compared with each part (`web1,web2`). `/re/` is a regular
 * expression only. In `tags`, `,` separates alternatives and `+` joins tags
 * that must all be present (`web+prod,db`); each tag is also tried as a
 * regular expression against each of the node's tags.
 *
 * Selection (NodeSet.shouldExclude): with only includes, a node is selected
 * when every include key matches; with only excludes, every node is selected
 * except those matching every exclude key; with both, exclude precedence
 * (the default) drops a node that fails the include OR matches the exclude,
 * and without it a node is dropped only when it fails the include AND matches
 * the exclude. An empty filter selects nothing.
 *
 * Differences from Rundeck, on purpose: regular expressions are RE2 (re2js,
 * linear time: a user's pattern cannot stall the server), so Java-only
 * constructs (backreferences, lookaround) are not regular expressions here and
 * fall back to text comparison as an invalid pattern does in Rundeck; an
 * invalid `/re/`, an unterminated quote and a key without a value are errors
 * that name the token and its column, where Rundeck throws or ignores them.
 */
import { RE2JS } from 're2js';
import { TandemError } from '../errors.js';
import type { NodeEntry } from './node-executor.js';

/** Keys NodeSet maps to a node's own fields; any other key is an attribute name. */
export const WELL_KNOWN_KEYS: Readonly<Record<string, string>> = Object.freeze({
  name: 'nodename',
  hostname: 'hostname',
  'os-name': 'osName',
  'os-family': 'osFamily',
  'os-arch': 'osArch',
  'os-version': 'osVersion',
});

/** One `key: value` of a filter, with the column (1-based) where its token starts, for errors. */
export interface FilterTerm {
  key: string;
  value: string;
  column: number;
}

export interface ParsedFilter {
  /** Key → value, repeated keys joined with commas, as NodeSet.parseFilter returns them. */
  include: Map<string, FilterTerm>;
  exclude: Map<string, FilterTerm>;
}

interface Token {
  text: string;
  column: number;
}

export function filterError(message: string, token: string, column: number): TandemError {
  return new TandemError('validation_failed', `node filter: ${message} at column ${column} ("${token}")`, {
    field: 'filter',
    details: { token, column },
  });
}

/** Splits on whitespace; quotes (single or double) keep whitespace; a backslash escapes the next character inside quotes. */
export function tokenize(filter: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = filter.length;
  while (i < n) {
    while (i < n && /\s/.test(filter[i]!)) i++;
    if (i >= n) break;
    const start = i;
    let text = '';
    while (i < n && !/\s/.test(filter[i]!)) {
      const ch = filter[i]!;
      if (ch === '"' || ch === "'") {
        const open = i;
        i++;
        while (i < n && filter[i] !== ch) {
          if (filter[i] === '\\' && i + 1 < n && (filter[i + 1] === ch || filter[i + 1] === '\\')) i++;
          text += filter[i];
          i++;
        }
        if (i >= n) throw filterError(`unterminated ${ch === '"' ? 'double' : 'single'} quote`, filter.slice(open), open + 1);
        i++;
      } else {
        text += ch;
        i++;
      }
    }
    out.push({ text, column: start + 1 });
  }
  return out;
}

/** NodeSet.parseFilter with Rundeck's defaults (join repeated keys, default key `name`). */
export function parseNodeFilter(filter: string): ParsedFilter {
  const include = new Map<string, FilterTerm>();
  const exclude = new Map<string, FilterTerm>();
  let key: Token | null = null;
  const put = (k: Token, keyText: string, value: string, column: number) => {
    let name = keyText;
    let set = include;
    if (name.startsWith('!')) {
      name = name.slice(1);
      set = exclude;
    }
    if (name === '') throw filterError('a filter key is empty', k.text, k.column);
    const prior = set.get(name);
    set.set(name, prior ? { ...prior, value: `${prior.value},${value}` } : { key: name, value, column });
  };
  for (const t of tokenize(filter)) {
    if (key === null && t.text.endsWith(':')) {
      key = t;
      continue;
    }
    if (key === null && t.text.includes(':')) {
      const at = t.text.indexOf(':');
      const k = t.text.slice(0, at);
      const v = t.text.slice(at + 1);
      // `key:` glued to a value that is empty cannot happen here (endsWith handled it).
      put(t, k, v, t.column);
      continue;
    }
    if (key === null) {
      if (t.text === '!') throw filterError('"!" needs a key or a node name after it', t.text, t.column);
      // A bare value is a node name; `!web1` excludes that name, as in Rundeck.
      if (t.text.startsWith('!')) put(t, '!name', t.text.slice(1), t.column);
      else put(t, 'name', t.text, t.column);
      continue;
    }
    put(key, key.text.slice(0, -1), t.text, key.column);
    key = null;
  }
  if (key !== null) throw filterError(`"${key.text}" has no value`, key.text, key.column);
  return { include, exclude };
}

/** A compiled value selector: NodeSet.matchesInput for one attribute. */
type ValueTest = (value: string | undefined) => boolean;
type TagsTest = (tags: readonly string[]) => boolean;

const LITERAL = /^[^.*+?()[\]{}|^$\\]*$/;

/** RE2 pattern that must match the whole string, or null when `src` is not a valid RE2 pattern. */
function wholeMatch(src: string): ((s: string) => boolean) | null {
  // Same answers without the regex engine for the common shapes (the bench's 10,000 nodes): a literal
  // pattern matches only itself; `literal.*` matches what starts with it and has no newline after
  // (`.` does not match a newline).
  if (LITERAL.test(src)) return (s) => s === src;
  if (src.endsWith('.*') && LITERAL.test(src.slice(0, -2))) {
    const prefix = src.slice(0, -2);
    return (s) => s.startsWith(prefix) && !s.includes('\n', prefix.length);
  }
  try {
    const re = RE2JS.compile(src);
    return (s) => re.matches(s);
  } catch {
    return null;
  }
}

/** Rundeck's matchRegexOrEquals, compiled. `/re/` is a regex only and must be valid. */
function regexOrEquals(selector: string, term: FilterTerm): (item: string) => boolean {
  if (selector.length >= 2 && selector.startsWith('/') && selector.endsWith('/')) {
    const inner = selector.slice(1, -1).trim();
    const m = wholeMatch(inner);
    if (!m) throw filterError(`"${inner}" is not a valid regular expression (RE2 syntax)`, `${term.key}: ${term.value}`, term.column);
    return m;
  }
  const trimmed = selector.trim();
  const m = wholeMatch(trimmed);
  return m ? (item) => m(item) || item === trimmed : (item) => item === trimmed;
}

function valueTest(term: FilterTerm): ValueTest {
  const selector = term.value;
  if (selector.trim() === '') return () => false;
  const re = regexOrEquals(selector, term);
  const list = new Set(selector.split(','));
  return (v) => v !== undefined && v.trim() !== '' && (re(v) || list.has(v));
}

function tagsTest(term: FilterTerm): TagsTest {
  const selector = term.value;
  if (selector.trim() === '') return () => false;
  const anyTag = (tag: string): ((tags: readonly string[]) => boolean) => {
    const re = regexOrEquals(tag, term);
    const exact = tag.trim();
    return (tags) => tags.includes(exact) || tags.some(re);
  };
  if (selector.includes('+') || selector.includes(',')) {
    const clauses = [...new Set(selector.split(','))].map((clause) => [...new Set(clause.split('+'))].map(anyTag));
    return (tags) => tags.length > 0 && clauses.some((all) => all.every((t) => t(tags)));
  }
  const one = anyTag(selector);
  return (tags) => tags.length > 0 && (tags.includes(selector) || one(tags));
}

/** Every key of a selector must match (SetSelector.matches); a blank selector matches nothing. */
function selectorTest(terms: Map<string, FilterTerm>): ((n: NodeEntry) => boolean) | null {
  const tests: Array<(n: NodeEntry) => boolean> = [];
  for (const term of terms.values()) {
    if (term.value.trim() === '') continue; // NodeSet: a blank value leaves the key out
    if (term.key === 'tags') {
      const t = tagsTest(term);
      tests.push((n) => t(n.tags));
    } else if (term.key === 'name') {
      const t = valueTest(term);
      tests.push((n) => t(n.name));
    } else {
      const attr = WELL_KNOWN_KEYS[term.key] ?? term.key;
      const t = valueTest(term);
      tests.push((n) => t(Object.hasOwn(n.attributes, attr) ? n.attributes[attr] : undefined));
    }
  }
  if (tests.length === 0) return null;
  return (n) => tests.every((t) => t(n));
}

export interface MatchOptions {
  /** Rundeck `excludePrecedence` (default true). */
  excludePrecedence?: boolean;
}

/** A predicate selecting the nodes a filter names (NodeSet.shouldExclude negated). */
export function matcher(filter: ParsedFilter, o: MatchOptions = {}): (n: NodeEntry) => boolean {
  const inc = selectorTest(filter.include);
  const exc = selectorTest(filter.exclude);
  const excludeWins = o.excludePrecedence ?? true;
  if (!exc) return inc ?? (() => false);
  if (!inc) return (n) => !exc(n);
  if (excludeWins) return (n) => inc(n) && !exc(n);
  return (n) => inc(n) || !exc(n);
}

/**
 * A job's filter and exclude filter (`nodefilters.filter` / `filterExclude`):
 * the exclude filter's terms are exclusions whether or not they carry `!`.
 */
export function compileNodeFilter(filter: string, o: MatchOptions & { filterExclude?: string } = {}): (n: NodeEntry) => boolean {
  const parsed = parseNodeFilter(filter);
  if (o.filterExclude && o.filterExclude.trim() !== '') {
    const ex = parseNodeFilter(o.filterExclude);
    for (const set of [ex.include, ex.exclude]) {
      for (const term of set.values()) {
        const prior = parsed.exclude.get(term.key);
        parsed.exclude.set(term.key, prior ? { ...prior, value: `${prior.value},${term.value}` } : term);
      }
    }
  }
  return matcher(parsed, o);
}

/** The nodes of `nodes` a filter selects, in their order. */
export function filterNodes(nodes: readonly NodeEntry[], filter: string, o: MatchOptions & { filterExclude?: string } = {}): NodeEntry[] {
  const test = compileNodeFilter(filter, o);
  return nodes.filter(test);
}
