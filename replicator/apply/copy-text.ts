/**
 * Rows in COPY's text format: the values stay exactly the text PostgreSQL
 * sent; only COPY's own escapes are added.
 */
import type { Tuple } from '../stream/pgoutput.js';

const special = /[\\\n\r\t]/;

export function copyEscape(v: string): string {
  if (!special.test(v)) return v;
  return v.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'));
}

/** One COPY line of `tuple`, or of the columns at `indexes` only (columns the target computes are left out). */
export function copyLine(tuple: Tuple, indexes?: number[]): string {
  let line = '';
  const n = indexes ? indexes.length : tuple.length;
  for (let k = 0; k < n; k++) {
    if (k) line += '\t';
    const v = tuple[indexes ? indexes[k]! : k];
    line += v === null || v === undefined ? '\\N' : copyEscape(v);
  }
  return line + '\n';
}
