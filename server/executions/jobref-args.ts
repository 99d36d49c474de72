/**
 * Rundeck job reference arguments: `-env prod -message "hello world"` →
 * `{ env: 'prod', message: 'hello world' }`. Quotes (single or double) group
 * words; a backslash escapes the next character inside double quotes.
 *
 * The argument *template* is split into words first and `${option.X}` is
 * substituted inside each word afterwards (Rundeck's order): a value is
 * always one argument, whatever spaces, dashes or quotes it holds, so
 * `-msg ${option.msg}` with `msg = "x -env prod"` passes that whole text as
 * `msg` and never sets `env`.
 */
import { TandemError } from '../errors.js';
import { expandOptions } from '../jobs/interpolate.js';

export function splitWords(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = findClosing(text, i, c);
      let inner = text.slice(i + 1, end);
      if (c === '"') inner = inner.replace(/\\(.)/g, '$1');
      cur += inner;
      inWord = true;
      i = end;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

function findClosing(text: string, start: number, q: string): number {
  for (let i = start + 1; i < text.length; i++) {
    if (q === '"' && text[i] === '\\') i++;
    else if (text[i] === q) return i;
  }
  throw new TandemError('validation_failed', `unclosed ${q} in job reference arguments: ${text}`);
}

/**
 * `args` (the template, as written in the job) → option name → value, with
 * `${option.X}` replaced by `values` in each value after splitting.
 */
export function parseJobRefArgs(args: string | undefined, values: Record<string, string> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  if (!args) return out;
  const words = splitWords(args);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (!w.startsWith('-') || w.length < 2) {
      throw new TandemError('validation_failed', `job reference arguments must be "-option value" pairs, got ${JSON.stringify(w)}`);
    }
    const next = words[i + 1];
    if (next === undefined || (next.startsWith('-') && next.length > 1 && !/^-\d/.test(next))) {
      out[w.slice(1)] = 'true';
    } else {
      out[w.slice(1)] = expandOptions(next, values);
      i++;
    }
  }
  return out;
}
