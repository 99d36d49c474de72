/**
 * Checking the option values given for a run against the job's option
 * definitions, before an execution is created.
 */
import { TandemError } from '../errors.js';
import { compileUserPattern, type UserPattern } from '../patterns/user-pattern.js';
import type { JobDefinition, JobOption } from './definition.js';

function refuse(option: string, message: string): TandemError {
  return new TandemError('invalid_option', `option "${option}": ${message}`, { field: `options.${option}` });
}

/**
 * Rundeck matches the whole value (Java `String.matches`). The pattern is the
 * user's own text: it runs on RE2 in linear time (patterns/user-pattern.ts),
 * so no value can make a check take long.
 */
export function optionPattern(regex: string, field?: string): UserPattern {
  return compileUserPattern(regex, field);
}

function multivalued(option: JobOption): { delimiter: string } | undefined {
  if (option.extra.multivalued !== true && option.extra.multivalued !== 'true') return undefined;
  const d = option.extra.delimiter;
  return { delimiter: typeof d === 'string' && d !== '' ? d : ',' };
}

function given(option: JobOption, raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  const multi = multivalued(option);
  if (Array.isArray(raw) && multi && raw.every((v) => typeof v === 'string' || typeof v === 'number')) {
    return raw.map(String).join(multi.delimiter);
  }
  throw refuse(option.name, multi ? 'must be a string or a list of strings' : 'must be a string');
}

/**
 * The values a run uses: given values, else defaults; required options must
 * end up non-empty, enforced ones within `values`, all matching `regex`.
 * Unknown option names are refused. Messages never repeat a secure option's value.
 */
export function resolveOptionValues(job: JobDefinition, givenValues: Record<string, unknown>): Record<string, string> {
  const byName = new Map(job.options.map((o) => [o.name, o]));
  for (const name of Object.keys(givenValues)) {
    if (!byName.has(name)) {
      const known = job.options.map((o) => o.name);
      throw refuse(name, known.length ? `no such option (the job has ${known.join(', ')})` : 'no such option (the job has no options)');
    }
  }
  const out: Record<string, string> = {};
  for (const option of job.options) {
    const value = given(option, Object.hasOwn(givenValues, option.name) ? givenValues[option.name] : undefined) ?? option.defaultValue;
    if (value === undefined || value === '') {
      if (option.required) throw refuse(option.name, 'required');
      if (value === undefined) continue;
    } else {
      const multi = multivalued(option);
      const parts = multi ? value.split(multi.delimiter) : [value];
      for (const part of parts) {
        if (option.enforced && option.values && !option.values.includes(part)) {
          throw refuse(option.name, `must be one of ${option.values.join(', ')}`);
        }
        if (option.regex !== undefined && !optionPattern(option.regex).test(part)) {
          const shown = option.secure ? 'the value' : `"${part}"`;
          throw refuse(option.name, `${shown} does not match ${option.regex}`);
        }
      }
    }
    out[option.name] = value;
  }
  return out;
}

/** Values of secure options, longest first (so that masking a value never leaves part of a longer one). */
export function secureOptionValues(job: JobDefinition, values: Record<string, string>): string[] {
  const secrets = new Set<string>();
  for (const option of job.options) {
    const v = values[option.name];
    if (option.secure && v !== undefined && v !== '') secrets.add(v);
  }
  return [...secrets].sort((a, b) => b.length - a.length);
}
