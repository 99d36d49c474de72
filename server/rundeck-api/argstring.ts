/**
 * Rundeck's `argString` (`-opt value -opt2 "two words"`) as option values.
 * Quotes (single or double) group words; a backslash escapes the next
 * character inside double quotes; an option followed by another option or
 * by the end has the empty value. Linear in the input.
 */
import { TandemError } from '../errors.js';

function tokens(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) break;
    let tok = '';
    while (i < s.length && !/\s/.test(s[i]!)) {
      const c = s[i]!;
      if (c === '"' || c === "'") {
        i++;
        while (i < s.length && s[i] !== c) {
          if (c === '"' && s[i] === '\\' && i + 1 < s.length) i++;
          tok += s[i++];
        }
        if (i >= s.length) throw new TandemError('invalid_option', `argString has an unclosed ${c} quote`, { field: 'argString' });
        i++;
      } else tok += s[i++];
    }
    out.push(tok);
  }
  return out;
}

export function parseArgString(s: string): Record<string, string> {
  const t = tokens(s);
  const out: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const k = t[i]!;
    if (!k.startsWith('-') || k.length < 2) throw new TandemError('invalid_option', `argString: expected -name before ${JSON.stringify(k)}`, { field: 'argString' });
    const next = t[i + 1];
    if (next !== undefined && !(next.startsWith('-') && next.length > 1 && !/^-\d/.test(next))) {
      out[k.slice(1)] = next;
      i++;
    } else out[k.slice(1)] = '';
  }
  return out;
}
