/**
 * Cheap, linear checks of a document's shape before a parser sees it.
 *
 * JSON.parse and the YAML parser are recursive: a 1 MB body of `[[[[…`
 * (500,000 levels) kept a member busy for seconds and could overflow the
 * stack or run out of memory, and everything that later walks the value
 * (the job reader, the audit) is recursive too. These scans look at each
 * character once, without building anything, and refuse a document nested
 * deeper than `maxDepth` or holding more than `maxNodes` values (400) the
 * moment the count is passed.
 *
 * YAML is not scanned exactly (that would be parsing it): the estimate adds
 * the open flow collections (`[`, `{` outside quotes and comments), the
 * block indentation levels, and the compact `- - -` entries of a line. It
 * never under-counts real nesting; block scalars (`|`, `>`) are skipped so
 * a script's own brackets do not count.
 */
import { TandemError } from '../errors.js';

export interface ShapeLimits {
  maxDepth: number;
  maxNodes: number;
}

function tooDeep(limits: ShapeLimits): TandemError {
  return new TandemError('bad_request', `the document is nested deeper than ${limits.maxDepth} levels`, { field: 'body' });
}

function tooBig(limits: ShapeLimits): TandemError {
  return new TandemError('bad_request', `the document has more than ${limits.maxNodes} values`, { field: 'body' });
}

const OPEN_SQ = 0x5b;
const CLOSE_SQ = 0x5d;
const OPEN_CURLY = 0x7b;
const CLOSE_CURLY = 0x7d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Depth and value count of a JSON text (strings skipped, commas count values). */
export function checkJsonShape(text: string, limits: ShapeLimits): void {
  let depth = 0;
  let nodes = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_SQ || c === OPEN_CURLY) {
      if (++depth > limits.maxDepth) throw tooDeep(limits);
      if (++nodes > limits.maxNodes) throw tooBig(limits);
    } else if (c === CLOSE_SQ || c === CLOSE_CURLY) depth--;
    else if (c === COMMA && ++nodes > limits.maxNodes) throw tooBig(limits);
  }
}

/** An upper estimate of a YAML text's nesting and value count (see the file comment). */
export function checkYamlShape(text: string, limits: ShapeLimits): void {
  const indents: number[] = [];
  let flow = 0;
  let nodes = 1;
  // Indentation of the key that opened a block scalar; its more-indented lines are text.
  let blockScalarOf = -1;
  let lineStart = 0;
  while (lineStart <= text.length) {
    let end = text.indexOf('\n', lineStart);
    if (end < 0) end = text.length;
    let i = lineStart;
    while (i < end && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
    const indent = i - lineStart;
    const blank = i >= end || text.charCodeAt(i) === 0x23 || text.charCodeAt(i) === 0x0d;
    if (blockScalarOf >= 0 && (blank || indent > blockScalarOf)) {
      lineStart = end + 1;
      continue;
    }
    blockScalarOf = -1;
    if (blank) {
      lineStart = end + 1;
      continue;
    }
    if (flow === 0) {
      while (indents.length && indents[indents.length - 1]! >= indent) indents.pop();
      indents.push(indent);
    }
    // Compact nested sequences and complex keys: "- - - x", "? ? x".
    let compact = 0;
    while (i + 1 < end && (text[i] === '-' || text[i] === '?') && (text[i + 1] === ' ' || text[i + 1] === '\t')) {
      compact++;
      i += 2;
      while (i < end && text[i] === ' ') i++;
    }
    if (indents.length + compact + flow > limits.maxDepth) throw tooDeep(limits);
    nodes += compact + 1;
    let quote = '';
    let last = '';
    for (; i < end; i++) {
      const ch = text[i]!;
      if (quote) {
        if (ch === quote) {
          if (quote === "'" && text[i + 1] === "'") i++;
          else quote = '';
        } else if (quote === '"' && ch === '\\') i++;
        continue;
      }
      if (ch === '#' && (last === ' ' || last === '\t' || last === '')) break;
      if ((ch === '"' || ch === "'") && (last === '' || last === ' ' || last === '[' || last === '{' || last === ',' || last === ':')) quote = ch;
      else if (ch === '[' || ch === '{') {
        if (indents.length + compact + ++flow > limits.maxDepth) throw tooDeep(limits);
        nodes++;
      } else if (ch === ']' || ch === '}') flow = Math.max(0, flow - 1);
      else if (ch === ',' || ch === '*') nodes++;
      if (ch !== ' ' && ch !== '\t') last = ch;
      else last = ' ';
    }
    if (nodes > limits.maxNodes) throw tooBig(limits);
    // "key: |", "- >-", "key: |2+": the following more-indented lines are a block scalar.
    if (flow === 0 && /(^|[\s:-])[|>][-+0-9]*\s*(#.*)?\r?$/.test(text.slice(Math.max(lineStart, end - 40), end))) blockScalarOf = indent;
    lineStart = end + 1;
  }
}

export interface BadString {
  kind: 'nul' | 'utf8';
  /** Path of the value or key, e.g. `jobs[0].sequence.commands[1].exec`. */
  field: string;
}

/**
 * The first string (key or value) holding a NUL character, or U+FFFD when
 * `replacement` (the body's bytes were not UTF-8 and were decoded with
 * replacement characters). Iterative: the value may be as deep as the
 * limits allow, and this must not be where a deep value overflows the stack.
 */
export function findBadString(data: unknown, opts: { replacement: boolean; root: string }): BadString | undefined {
  const test = (s: string): BadString['kind'] | undefined => (s.includes('\u0000') ? 'nul' : opts.replacement && s.includes('\uFFFD') ? 'utf8' : undefined);
  const stack: Array<[unknown, string]> = [[data, opts.root]];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      const kind = test(v);
      if (kind) return { kind, field: path };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${path}[${i}]`]);
    } else if (v && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [k, child] = entries[i]!;
        const childPath = path ? `${path}.${k}` : k;
        const kind = test(k);
        if (kind) return { kind, field: childPath };
        stack.push([child, childPath]);
      }
    }
  }
  return undefined;
}
