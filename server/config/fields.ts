/**
 * Field kinds for the configuration schema: each is a zod schema (typed, with
 * Tandem's own messages) plus what the loader needs around it (default, flag,
 * secret, description). A value read from text (an environment variable, a
 * secret file or a flag) is first converted the way text is (`"8080"` is an
 * integer, `"yes"` is true, `a,b` a list, JSON a mapping); a YAML value must
 * already have the type. Parsing happens once at start-up (see load.ts); the
 * loader adds the key and where the value came from to the message.
 */
import { z } from 'zod';

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
  /** The value's schema (for a YAML value; records of maps reuse it). */
  readonly schema: z.ZodType<T>;
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

function make<T, O extends Common<T>>(kind: string, o: O, schema: (fromText: boolean) => z.ZodType<T>): Field<T> & O {
  const plain = schema(false);
  const text = schema(true);
  return { kind, ...o, schema: plain, parse: (raw, fromText) => check(fromText ? text : plain, raw) };
}

/** Run a schema; the first problem is thrown as a string, prefixed with where inside the value it is. */
function check<T>(schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw (issue.path.length ? issue.path.map(String).join('.') + ': ' : '') + issue.message;
}

/** A value from text (environment, secret file, flag) becomes `fromText(v)` before the schema sees it. */
function textual<T>(fromText: boolean, convert: (v: string) => unknown, schema: z.ZodType<T>): z.ZodType<T> {
  if (!fromText) return schema;
  return z.preprocess((v) => (typeof v === 'string' ? convert(v) : v), schema) as unknown as z.ZodType<T>;
}

function strSchema(pattern?: RegExp, patternHint?: string): z.ZodType<string> {
  const base = z.string({ error: 'expected a string' });
  const s = pattern ? base.regex(pattern, { error: patternHint ?? `does not match ${pattern}` }) : base;
  // YAML reads `port: 80` or `on: yes` as a number or boolean: a string setting takes their text.
  return z.preprocess((v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v), s);
}

export function str<const O extends Common<string> & { pattern?: RegExp; patternHint?: string }>(o: O): Field<string> & O {
  return make('string', o, () => strSchema(o.pattern, o.patternHint));
}

function intSchema(min?: number, max?: number): z.ZodType<number> {
  let s = z
    .number({ error: (iss) => `expected an integer, got ${typeof iss.input === 'number' ? String(iss.input) : describe(iss.input)}` })
    .int({ error: (iss) => `expected an integer, got ${String(iss.input)}` });
  if (min !== undefined) s = s.min(min, { error: `must be at least ${min}` });
  if (max !== undefined) s = s.max(max, { error: `must be at most ${max}` });
  return s;
}

export function int<const O extends Common<number> & { min?: number; max?: number }>(o: O): Field<number> & O {
  return make('integer', o, (fromText) => textual(fromText, (v) => (/^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v), intSchema(o.min, o.max)));
}

export function port<const O extends Common<number>>(o: O): Field<number> & O {
  return int({ ...o, min: 0, max: 65535 }) as Field<number> & O;
}

const TRUE = ['true', 'yes', '1', 'on'];
const FALSE = ['false', 'no', '0', 'off'];

export function bool<const O extends Common<boolean>>(o: O): Field<boolean> & O {
  const schema = z.boolean({ error: (iss) => `expected true or false, got ${describe(iss.input)}` });
  return make('boolean', o, (fromText) =>
    textual(fromText, (v) => (TRUE.includes(v.trim().toLowerCase()) ? true : FALSE.includes(v.trim().toLowerCase()) ? false : v), schema),
  );
}

export function oneOf<const T extends string, const O extends Common<T> = Common<T>>(values: readonly T[], o: O): Field<T> & O {
  const schema = z.enum(values as unknown as [T, ...T[]], { error: (iss) => `expected one of ${values.join(', ')}, got ${describe(iss.input)}` });
  return make(`one of ${values.join('|')}`, o, () => schema as unknown as z.ZodType<T>);
}

/** A list of strings: a YAML sequence, or a comma-separated string. */
function listSchema(): z.ZodType<string[]> {
  return z.union(
    [
      z.string().transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean)),
      z.array(z.union([z.string(), z.number()])).transform((a) => a.map((x) => String(x))),
    ],
    { error: (iss) => `expected a list of strings or a comma-separated string, got ${describe(iss.input)}` },
  );
}

export function list<const O extends Common<string[]>>(o: O): Field<string[]> & O {
  return make('list', o, listSchema);
}

function urlWith(protocols: string[], what: string): z.ZodType<string> {
  return z.string({ error: (iss) => `not ${what} (got ${describe(iss.input)})` }).refine((raw) => {
    try {
      return protocols.includes(new URL(raw).protocol);
    } catch {
      return false;
    }
  }, { error: `not ${what}` });
}

const pgUrlSchema = urlWith(['postgres:', 'postgresql:'], 'a postgres:// URL');
const httpUrlSchema = urlWith(['http:', 'https:'], 'an http(s):// URL').transform((raw) => raw.replace(/\/+$/, ''));

export function pgUrl<const O extends Common<string>>(o: O): Field<string> & O {
  return make('postgres URL', o, () => pgUrlSchema);
}

export function httpUrl<const O extends Common<string>>(o: O): Field<string> & O {
  return make('http(s) URL', o, () => httpUrlSchema);
}

/** A number with a unit (`30s`, `1mb`) or a plain number of the smallest unit, as an integer count of it. */
function unitSchema(units: Record<string, number>, pattern: RegExp, integer: boolean, hint: string): z.ZodType<number> {
  const error = (iss: { input?: unknown }) => `expected ${hint}, got ${describe(iss.input)}`;
  const plain = integer ? z.number({ error }).int({ error }).min(0, { error }) : z.number({ error }).min(0, { error });
  const text = z.string({ error }).regex(pattern, { error }).transform((s) => {
    const m = pattern.exec(s)!;
    return Math.round(Number(m[1]) * units[(m[2] ?? Object.keys(units)[0]!).toLowerCase()]!);
  });
  return z.union([plain, text], { error });
}

const durationSchema = unitSchema(
  { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 },
  /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/,
  false,
  'a duration such as 500ms, 30s, 5m, 12h or 30d',
);
const sizeSchema = unitSchema({ b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 }, /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i, true, 'a size such as 512kb or 1mb');

/** Parse `500ms`, `30s`, `5m`, `12h`, `30d` or a plain number of milliseconds (throws the reason as a string). */
export function parseDuration(raw: unknown): number {
  return check(durationSchema, raw);
}

/** A duration, stored in milliseconds. */
export function duration<const O extends Common<number>>(o: O): Field<number> & O {
  return make('duration', o, () => durationSchema);
}

/** A size in bytes: `512kb`, `1mb`, or a plain number of bytes. */
export function size<const O extends Common<number>>(o: O): Field<number> & O {
  return make('size', o, () => sizeSchema);
}

/** A map of names to records, e.g. `sites: { a: {...}, b: {...} }`. From the environment: JSON text. */
export function map<T, const O extends Common<Record<string, T>> = Common<Record<string, T>>>(item: z.ZodType<T>, o: O): Field<Record<string, T>> & O {
  const schema = z.record(z.string(), item, { error: (iss) => `expected a mapping, got ${describe(iss.input)}` }) as unknown as z.ZodType<Record<string, T>>;
  const fromJson = z
    .string()
    .transform((v, ctx) => {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected a mapping (or JSON object text)' });
        return z.NEVER;
      }
    })
    .pipe(schema);
  return make('map', o, (fromText) => (fromText ? fromJson : schema) as z.ZodType<Record<string, T>>);
}

export function describe(raw: unknown): string {
  if (raw === null) return 'null';
  if (Array.isArray(raw)) return 'a list';
  if (typeof raw === 'object') return 'a mapping';
  if (typeof raw === 'string') return JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + '…' : raw);
  return `${typeof raw} ${String(raw)}`;
}
