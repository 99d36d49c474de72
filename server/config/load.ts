/**
 * Loads the configuration once at start-up: YAML file, then environment
 * variables (and `_FILE` secret files), then command-line flags, each layer
 * overriding the one before. Every value is validated by its field; the first
 * problem found stops start-up with a message that names the key.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { TandemError } from '../errors.js';
import type { Field } from './fields.js';
import { configSchema, type Config } from './schema.js';

export interface LoadOptions {
  /** Path given with --config; when absent, `tandem.yaml` in the working directory is used if present. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, by key path (`database.url`). */
  flags?: Record<string, unknown>;
  /** Values that win over everything (tests and the demo). */
  overrides?: Record<string, unknown>;
}

interface FieldEntry {
  path: string;
  field: Field<unknown>;
}

function isField(x: unknown): x is Field<unknown> {
  return !!x && typeof x === 'object' && typeof (x as Field<unknown>).parse === 'function';
}

/** Every key of the schema as a flat list of `a.b.c` paths. */
export function schemaFields(node: object = configSchema, prefix = ''): FieldEntry[] {
  const out: FieldEntry[] = [];
  for (const [k, v] of Object.entries(node)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (isField(v)) out.push({ path, field: v });
    else out.push(...schemaFields(v as object, path));
  }
  return out;
}

/** `auth.ldap.bindDn` → `TANDEM_AUTH_LDAP_BIND_DN`. */
export function envName(path: string): string {
  return (
    'TANDEM_' +
    path
      .split('.')
      .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase())
      .join('_')
  );
}

function fail(path: string, why: string, source: string): never {
  throw new TandemError('invalid_config', `${path}: ${why}${source ? ` (from ${source})` : ''}`, { field: path });
}

/** Flatten the YAML document to `path → value`, refusing keys the schema does not know. */
function flattenYaml(doc: unknown, fields: Map<string, Field<unknown>>, file: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (node: unknown, prefix: string) => {
    if (prefix && fields.has(prefix)) {
      out.set(prefix, node);
      return;
    }
    if (!node || typeof node !== 'object' || Array.isArray(node)) {
      if (!prefix) fail('(top level)', 'expected a mapping of settings', file);
      fail(prefix, `expected a mapping (a section), got ${Array.isArray(node) ? 'a list' : typeof node}`, file);
    }
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      const path = prefix ? `${prefix}.${k}` : k;
      const known = fields.has(path) || [...fields.keys()].some((p) => p.startsWith(path + '.'));
      if (!known) fail(path, 'unknown setting', file);
      walk(v, path);
    }
  };
  if (doc !== null && doc !== undefined) walk(doc, '');
  return out;
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TandemError('invalid_config', `cannot read config file ${file}: ${(e as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    const err = doc.errors[0]!;
    const pos = err.linePos?.[0];
    throw new TandemError(
      'invalid_config',
      `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: invalid YAML: ${err.message.split('\n')[0]}`,
    );
  }
  return doc.toJS();
}

function setPath(target: Record<string, unknown>, path: string, value: unknown) {
  const parts = path.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) {
    node[p] ??= {};
    node = node[p] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const entries = schemaFields();
  const fields = new Map(entries.map((e) => [e.path, e.field]));

  const file = opts.file ?? (existsSync('tandem.yaml') ? 'tandem.yaml' : undefined);
  const fromFile = file ? flattenYaml(readYaml(file), fields, file) : new Map<string, unknown>();

  const config: Record<string, unknown> = {};
  for (const { path, field } of entries) {
    let raw: unknown = undefined;
    let source = '';
    let fromText = false;
    if (fromFile.has(path)) {
      raw = fromFile.get(path);
      source = file!;
    }
    const name = envName(path);
    if (env[name] !== undefined && env[name] !== '') {
      raw = env[name];
      source = name;
      fromText = true;
    } else if (env[name + '_FILE']) {
      const f = env[name + '_FILE']!;
      try {
        raw = readFileSync(f, 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        fail(path, `cannot read ${name}_FILE ${f}: ${(e as Error).message}`, '');
      }
      source = `${name}_FILE`;
      fromText = true;
    }
    if (opts.flags && opts.flags[path] !== undefined) {
      raw = opts.flags[path];
      source = field.flag ?? 'flag';
      fromText = true;
    }
    if (opts.overrides && opts.overrides[path] !== undefined) {
      raw = opts.overrides[path];
      source = '';
      fromText = false;
    }
    let value: unknown;
    if (raw === undefined || raw === null) {
      if (field.required) fail(path, 'is required', '');
      value = field.default;
    } else {
      try {
        value = field.parse(raw, fromText);
      } catch (why) {
        if (why instanceof Error) throw why;
        fail(path, String(why), source);
      }
    }
    if (value !== undefined) setPath(config, path, value);
    else setPath(config, path, undefined);
  }
  const cfg = config as unknown as Config;
  if (cfg.site && cfg.sites && Object.keys(cfg.sites).length && !cfg.sites[cfg.site]) {
    fail('site', `"${cfg.site}" is not one of sites (${Object.keys(cfg.sites).join(', ')})`, '');
  }
  return cfg;
}

/** Keys a command insists on, checked after loading so the message names the key and how to set it. */
export function requireKeys(cfg: Config, paths: string[]): void {
  for (const path of paths) {
    let node: unknown = cfg;
    for (const p of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[p];
    if (node === undefined || node === '') {
      const f = schemaFields().find((e) => e.path === path)?.field;
      const how = [f?.flag, envName(path), 'the config file'].filter(Boolean).join(', ');
      fail(path, `is required (set it with ${how})`, '');
    }
  }
}
