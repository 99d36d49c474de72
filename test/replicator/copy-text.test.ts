/**
 * COPY text lines (replicator/apply/copy-text.ts), no server: values stay the
 * exact text PostgreSQL sent, with only COPY's own escapes added (backslash,
 * newline, carriage return, tab), `\N` for NULL and for an unchanged TOAST
 * value, and nothing else. Each line is also read back with COPY's text-format
 * rules (PostgreSQL's "COPY ... File Formats, Text Format") to show the
 * round trip gives every value back.
 */
import t from 'tap';
import { copyEscape, copyLine } from '../../replicator/apply/copy-text.js';
import type { Tuple } from '../../replicator/stream/pgoutput.js';

/** COPY FROM's reading of one text-format line (the escapes PostgreSQL accepts, default NULL `\N`). */
function readLine(line: string): (string | null)[] {
  if (!line.endsWith('\n')) throw new Error('a COPY line ends with a newline');
  return line
    .slice(0, -1)
    .split('\t')
    .map((field) => {
      if (field === '\\N') return null;
      return field.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', v: '\v', '\\': '\\' })[c] ?? c);
    });
}

t.test('escapes: backslash, tab, newline, carriage return, and nothing else', async (t) => {
  t.equal(copyEscape('plain text'), 'plain text');
  t.equal(copyEscape('a\\b'), 'a\\\\b');
  t.equal(copyEscape('a\tb'), 'a\\tb');
  t.equal(copyEscape('a\nb'), 'a\\nb');
  t.equal(copyEscape('a\r\nb'), 'a\\r\\nb');
  t.equal(copyEscape('\\N'), '\\\\N', 'the text \\N is not the NULL marker');
  t.equal(copyEscape('\\.'), '\\\\.', 'nor the end-of-data marker');
  t.equal(copyEscape('NULL'), 'NULL', 'the string NULL stays a string');
  t.equal(copyEscape(''), '');
  t.equal(copyEscape('größe € 日本 😀'), 'größe € 日本 😀', 'non-ASCII unchanged');
  t.equal(copyEscape('{"a": "x\\"y"}'), '{"a": "x\\\\"y"}', 'JSON text: its backslash doubled, quotes untouched');
  t.equal(copyEscape('\\\\\t\n'), '\\\\\\\\\\t\\n');
});

t.test('lines: NULL and unchanged TOAST are \\N, the empty string is an empty field', async (t) => {
  t.equal(copyLine(['1', null, '', 'NULL', undefined]), '1\t\\N\t\tNULL\t\\N\n');
  t.equal(copyLine([]), '\n');
  t.equal(copyLine(['']), '\n', 'one empty string: an empty line');
  t.equal(copyLine(['a', 'b', 'c', 'd'], [3, 0]), 'd\ta\n', 'only the columns at the indexes, in that order');
  t.equal(copyLine(['a\tb', 'c'], [0]), 'a\\tb\n');
});

t.test('every line reads back to the values it was made of', async (t) => {
  const tuples: (string | null)[][] = [
    ['1', null, '', 'NULL', '\\N'],
    ['tab\there', 'new\nline', 'cr\rhere', 'back\\slash', 'end\\'],
    ['größe € 日本 😀', '\\.', ' leading and trailing ', '\\\\'],
    ['{"k": "v\\n"}', '{1,2,"a b"}', '(1,"x\\"y")', '2026-12-03 14:00:00+00'],
  ];
  for (const tuple of tuples) t.same(readLine(copyLine(tuple as Tuple)), tuple, JSON.stringify(tuple));
});
