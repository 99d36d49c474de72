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

export function copyLine(tuple: Tuple): string {
  let line = '';
  for (let i = 0; i < tuple.length; i++) {
    if (i) line += '\t';
    const v = tuple[i];
    line += v === null || v === undefined ? '\\N' : copyEscape(v);
  }
  return line + '\n';
}
