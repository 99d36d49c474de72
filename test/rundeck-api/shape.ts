/**
 * Checks an answer against a shape from fixtures/shapes.json: every key the
 * shape names is present (unless marked `?`) with the named type, lists
 * check each element. Extra keys are allowed (Rundeck adds fields across
 * versions; clients ignore unknown ones). Returns the mismatches.
 */
import { readFileSync } from 'node:fs';

export const SHAPES = JSON.parse(readFileSync(new URL('./fixtures/shapes.json', import.meta.url), 'utf8')) as Record<string, unknown>;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

export function mismatches(value: unknown, shape: unknown, path = '$'): string[] {
  if (typeof shape === 'string') {
    if (shape.startsWith('@')) return mismatches(value, SHAPES[shape.slice(1)], path);
    const allowed = shape.split('|');
    if (allowed.includes('any')) return [];
    return allowed.includes(typeOf(value)) ? [] : [`${path}: expected ${shape}, got ${typeOf(value)} ${JSON.stringify(value)?.slice(0, 80)}`];
  }
  if (Array.isArray(shape)) {
    if (!Array.isArray(value)) return [`${path}: expected a list, got ${typeOf(value)}`];
    return value.flatMap((v, i) => mismatches(v, shape[0], `${path}[${i}]`));
  }
  if (shape && typeof shape === 'object') {
    if (typeOf(value) !== 'object') return [`${path}: expected an object, got ${typeOf(value)}`];
    const v = value as Record<string, unknown>;
    return Object.entries(shape as Record<string, unknown>).flatMap(([k, s]) => {
      const optional = k.endsWith('?');
      const key = optional ? k.slice(0, -1) : k;
      if (!(key in v)) return optional ? [] : [`${path}.${key}: missing`];
      return mismatches(v[key], s, `${path}.${key}`);
    });
  }
  return [];
}

export function shapeOf(name: string): unknown {
  const s = SHAPES[name];
  if (s === undefined) throw new Error(`no shape ${name} in fixtures/shapes.json`);
  return s;
}
