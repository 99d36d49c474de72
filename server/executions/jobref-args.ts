/**
 * Rundeck job reference arguments: `-env prod -message "hello world"` →
 * `{ env: 'prod', message: 'hello world' }`. Quotes (single or double) group
 * words; a backslash escapes the next character inside double quotes.
 */
import { TandemError } from '../errors.js';

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

export function parseJobRefArgs(args: string | undefined): Record<string, string> {
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
      out[w.slice(1)] = next;
      i++;
    }
  }
  return out;
}
