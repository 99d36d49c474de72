/**
 * Expansion of one cron field's list syntax (`*`, `N`, `N-M`, `*\/S`, `N/S`,
 * `N-M/S`, comma lists, names) into the explicit set of values it allows.
 *
 * Tandem expands fields itself instead of handing Quartz text to cron-parser
 * because Quartz and cron number days of the week differently (1=SUN vs
 * 0=SUN) and a step like `2/2` means different days in each; explicit value
 * lists are unambiguous in both, and errors can name the field.
 */

export interface FieldRange {
  /** Human name used in messages: "minutes", "day-of-week". */
  label: string;
  min: number;
  max: number;
  /** Upper-case names accepted in place of numbers (JAN=1, SUN=1 for Quartz). */
  names?: Record<string, number>;
}

/** A problem in one field; the caller turns it into a TandemError naming the field. */
export class FieldError extends Error {}

function value(token: string, range: FieldRange): number {
  const upper = token.toUpperCase();
  if (range.names && upper in range.names) return range.names[upper]!;
  if (!/^\d+$/.test(token)) {
    const names = range.names ? ` or one of ${Object.keys(range.names).join(', ')}` : '';
    throw new FieldError(`${range.label}: "${token}" is not a number${names}`);
  }
  const n = Number(token);
  if (n < range.min || n > range.max) {
    throw new FieldError(`${range.label}: ${n} is out of range ${range.min}-${range.max}`);
  }
  return n;
}

/**
 * The sorted set of values `raw` allows. Ranges may wrap around the end of the
 * field (`FRI-MON`, `22-2`) as Quartz allows.
 */
export function expandField(raw: string, range: FieldRange): number[] {
  if (raw === '') throw new FieldError(`${range.label}: empty`);
  const out = new Set<number>();
  for (const item of raw.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(item);
    if (!m) throw new FieldError(`${range.label}: cannot read "${item}"`);
    const base = m[1]!;
    const step = m[2] === undefined ? 1 : Number(m[2]);
    if (step < 1) throw new FieldError(`${range.label}: step must be at least 1 in "${item}"`);
    let start: number;
    let end: number;
    if (base === '*') {
      start = range.min;
      end = range.max;
    } else {
      const dash = base.indexOf('-', 1);
      if (dash >= 0) {
        start = value(base.slice(0, dash), range);
        end = value(base.slice(dash + 1), range);
      } else {
        start = value(base, range);
        // `N/S` means from N to the end of the field in steps of S.
        end = m[2] === undefined ? start : range.max;
      }
    }
    const span = range.max - range.min + 1;
    const length = end >= start ? end - start : end - start + span;
    for (let i = 0; i <= length; i += step) {
      out.add(((start - range.min + i) % span) + range.min);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** True when `values` is every value of the field. */
export function isFull(values: number[], range: FieldRange): boolean {
  return values.length === range.max - range.min + 1;
}
