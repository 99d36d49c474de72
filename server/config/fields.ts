/**
 * Field kinds for the configuration schema. Each field knows how to parse a
 * raw value (from YAML, an environment variable, a secret file or a flag) and
 * says why it refused one. Parsing happens once at start-up (see load.ts).
 */
export interface Field<T> {
  readonly kind: string;
  /** Value when nothing sets the key; undefined means "optional, absent". */
  readonly default?: T;
  readonly required?: boolean;
  /** Secret values may come from `<ENV>_FILE` and are never printed. */
  readonly secret?: boolean;
  /** Command-line flag that sets this key, e.g. `--database-url`. */
  readonly flag?: string;
  readonly description: string;
  /** Parse a raw value; throw a string (the reason) when it is invalid. */
  parse(raw: unknown, fromText: boolean): T;
}

interface Common<T> {
  default?: T;
  required?: boolean;
  secret?: boolean;
  flag?: string;
  description: string;
}

function make<T, O extends Common<T>>(kind: string, o: O, parse: (raw: unknown, fromText: boolean) => T): Field<T> & O {
  return { kind, ...o, parse };
}

export function str<const O extends Common<string> & { pattern?: RegExp; patternHint?: string }>(o: O): Field<string> & O {
  return make('string', o, (raw) => {
    if (typeof raw === 'number' || typeof raw === 'boolean') raw = String(raw);
    if (typeof raw !== 'string') throw 'expected a string';
    if (o.pattern && !o.pattern.test(raw)) throw o.patternHint ?? `does not match ${o.pattern}`;
    return raw;
  });
}

export function int<const O extends Common<number> & { min?: number; max?: number }>(o: O): Field<number> & O {
  return make('integer', o, (raw, fromText) => {
    let n: number;
    if (typeof raw === 'number') n = raw;
    else if (fromText && typeof raw === 'string' && /^-?\d+$/.test(raw.trim())) n = Number(raw.trim());
    else throw `expected an integer, got ${describe(raw)}`;
    if (!Number.isInteger(n)) throw `expected an integer, got ${n}`;
    if (o.min !== undefined && n < o.min) throw `must be at least ${o.min}`;
    if (o.max !== undefined && n > o.max) throw `must be at most ${o.max}`;
    return n;
  });
}

export function port<const O extends Common<number>>(o: O): Field<number> & O {
  return int({ ...o, min: 0, max: 65535 }) as Field<number> & O;
}

export function bool<const O extends Common<boolean>>(o: O): Field<boolean> & O {
  return make('boolean', o, (raw, fromText) => {
    if (typeof raw === 'boolean') return raw;
    if (fromText && typeof raw === 'string') {
      const v = raw.trim().toLowerCase();
      if (['true', 'yes', '1', 'on'].includes(v)) return true;
      if (['false', 'no', '0', 'off'].includes(v)) return false;
    }
    throw `expected true or false, got ${describe(raw)}`;
  });
}

export function oneOf<const T extends string, const O extends Common<T> = Common<T>>(values: readonly T[], o: O): Field<T> & O {
  return make(`one of ${values.join('|')}`, o, (raw) => {
    if (typeof raw === 'string' && (values as readonly string[]).includes(raw)) return raw as T;
    throw `expected one of ${values.join(', ')}, got ${describe(raw)}`;
  });
}

/** A list of strings: a YAML sequence, or a comma-separated string. */
export function list<const O extends Common<string[]>>(o: O): Field<string[]> & O {
  return make('list', o, (raw) => {
    if (typeof raw === 'string') return raw.split(',').map((s) => s.trim()).filter(Boolean);
    if (Array.isArray(raw) && raw.every((x) => typeof x === 'string' || typeof x === 'number'))
      return raw.map((x) => String(x));
    throw `expected a list of strings or a comma-separated string, got ${describe(raw)}`;
  });
}

export function pgUrl<const O extends Common<string>>(o: O): Field<string> & O {
  return make('postgres URL', o, (raw) => {
    if (typeof raw !== 'string') throw `not a postgres:// URL (got ${describe(raw)})`;
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      throw 'not a postgres:// URL';
    }
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw 'not a postgres:// URL';
    return raw;
  });
}

export function httpUrl<const O extends Common<string>>(o: O): Field<string> & O {
  return make('http(s) URL', o, (raw) => {
    if (typeof raw !== 'string') throw `not an http(s):// URL (got ${describe(raw)})`;
    try {
      const u = new URL(raw);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw 0;
    } catch {
      throw 'not an http(s):// URL';
    }
    return raw.replace(/\/+$/, '');
  });
}

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parse `500ms`, `30s`, `5m`, `12h`, `30d` or a plain number of milliseconds. */
export function parseDuration(raw: unknown): number {
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return raw;
  if (typeof raw === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(raw);
    if (m) return Math.round(Number(m[1]) * durationUnits[m[2] ?? 'ms']!);
  }
  throw `expected a duration such as 500ms, 30s, 5m, 12h or 30d, got ${describe(raw)}`;
}

/** A duration, stored in milliseconds. */
export function duration<const O extends Common<number>>(o: O): Field<number> & O {
  return make('duration', o, (raw) => parseDuration(raw));
}

const sizeUnits: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/** A size in bytes: `512kb`, `1mb`, or a plain number of bytes. */
export function size<const O extends Common<number>>(o: O): Field<number> & O {
  return make('size', o, (raw) => {
    if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) return raw;
    if (typeof raw === 'string') {
      const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(raw);
      if (m) return Math.round(Number(m[1]) * sizeUnits[(m[2] ?? 'b').toLowerCase()]!);
    }
    throw `expected a size such as 512kb or 1mb, got ${describe(raw)}`;
  });
}

/** A map of names to records, e.g. `sites: { a: {...}, b: {...} }`. From the environment: JSON text. */
export function map<T, const O extends Common<Record<string, T>> = Common<Record<string, T>>>(
  item: (name: string, value: unknown) => T,
  o: O,
): Field<Record<string, T>> & O {
  return make('map', o, (raw) => {
    if (typeof raw === 'string') {
      try {
        raw = JSON.parse(raw);
      } catch {
        throw 'expected a mapping (or JSON object text)';
      }
    }
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw `expected a mapping, got ${describe(raw)}`;
    const out: Record<string, T> = {};
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) out[k] = item(k, v);
    return out;
  });
}

export function describe(raw: unknown): string {
  if (raw === null) return 'null';
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'object') return 'a mapping';
  if (typeof raw === 'string') return JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + '…' : raw);
  return `${typeof raw} ${String(raw)}`;
}
