/**
 * Rundeck job documents (already parsed from YAML or JSON) → JobDefinition.
 *
 * Everything Tandem interprets is validated and errors name the field
 * (`jobs[0].options[1].regex`). Everything else is kept, at its Rundeck path,
 * in the nearest `extra` map with one warning per key, so that an export gives
 * it back: unknown top-level keys in `job.extra`, the uninterpreted rest of
 * `nodefilters`, `notification` and `sequence` under those keys of `job.extra`,
 * unknown step keys (and the rest of a `jobref` under `jobref`) in `step.extra`,
 * unknown option keys in `option.extra`.
 */
import { TandemError } from '../errors.js';
import { parseScheduleSpec } from '../schedule/cron.js';
import type { EmailEvent, EmailNotification, JobDefinition, JobOption, Notification, Step } from './definition.js';
import { parseDuration } from './duration.js';
import { OPTION_NAME, optionEnvName } from './interpolate.js';
import { optionPattern } from './options.js';
import { readNodeDispatch } from '../nodes/job-nodes.js';

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const LOG_LEVELS = ['DEBUG', 'VERBOSE', 'INFO', 'WARN', 'ERROR'];
export const NOTIFICATION_EVENTS = ['onsuccess', 'onfailure', 'onstart'] as const;

type Raw = Record<string, unknown>;

function fail(field: string, message: string): TandemError {
  return new TandemError('validation_failed', `${field}: ${message}`, { field });
}

export function isRecord(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * `obj[key] = value` for keys that come from documents: defines an own
 * property, so that a key named `__proto__` is kept as data instead of
 * replacing the object's prototype.
 */
export function put(obj: Raw, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Reads one document, collecting warnings. */
class JobReader {
  constructor(readonly warnings: string[]) {}

  /**
   * Moves keys not in `known` into a new map, warning once per key except for
   * `quiet` ones (kept in `extra` but understood, e.g. an option's `multivalued`).
   */
  rest(raw: Raw, known: readonly string[], path: string, quiet: readonly string[] = []): Raw {
    const out: Raw = {};
    for (const [k, v] of Object.entries(raw)) {
      if (known.includes(k)) continue;
      put(out, k, v);
      if (!quiet.includes(k)) this.warnings.push(`${path}.${k}: unknown field, kept`);
    }
    return out;
  }

  text(v: unknown, field: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    throw fail(field, 'must be a string');
  }

  requiredText(v: unknown, field: string): string {
    const s = this.text(v, field);
    if (s === undefined || s.trim() === '') throw fail(field, 'required');
    return s;
  }

  bool(v: unknown, field: string, fallback: boolean): boolean {
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    throw fail(field, 'must be true or false');
  }

  noOptionReference(s: string, field: string): void {
    if (s.includes('${')) throw fail(field, 'option references are not supported here; give a fixed value');
  }

  duration(v: unknown, field: string, example: string): number {
    const s = this.requiredText(v, field);
    this.noOptionReference(s, field);
    const ms = parseDuration(s);
    if (ms === null) throw fail(field, `"${s}" is not a duration (e.g. ${example})`);
    return ms;
  }

  job(raw: unknown, path: string): JobDefinition {
    if (!isRecord(raw)) throw fail(path, 'must be a mapping (one job)');
    const known = [
      'uuid', 'name', 'group', 'description', 'options', 'sequence', 'nodefilters', 'schedule', 'timeZone',
      'scheduleEnabled', 'executionEnabled', 'timeout', 'retry', 'multipleExecutions', 'loglevel', 'notification',
    ];
    // Rundeck exports both `id` and `uuid` (equal); an old export may carry only `id`.
    const onlyId = raw.uuid === undefined && raw.id !== undefined;
    // Kept in `extra` and honoured at run time (server/nodes/dispatch.ts): no warning.
    const extra = this.rest(raw, onlyId ? [...known, 'id'] : known, path, ['nodeFilterEditable', 'nodesSelectedByDefault']);
    const job: JobDefinition = {
      name: this.requiredText(raw.name, `${path}.name`),
      options: this.options(raw.options, `${path}.options`),
      sequence: { keepgoing: false, strategy: 'node-first', steps: [] },
      scheduleEnabled: this.bool(raw.scheduleEnabled, `${path}.scheduleEnabled`, true),
      executionEnabled: this.bool(raw.executionEnabled, `${path}.executionEnabled`, true),
      retry: this.retry(raw.retry, `${path}.retry`),
      multipleExecutions: this.bool(raw.multipleExecutions, `${path}.multipleExecutions`, false),
      loglevel: this.loglevel(raw.loglevel, `${path}.loglevel`),
      notification: { onsuccess: [], onfailure: [], onstart: [] },
      extra,
    };
    const uuid = this.text(onlyId ? raw.id : raw.uuid, `${path}.${onlyId ? 'id' : 'uuid'}`);
    if (uuid !== undefined) {
      if (!UUID.test(uuid)) throw fail(`${path}.uuid`, `"${uuid}" is not a UUID (like 3f2a8d1e-5b7c-4e0a-9c1d-2e3f4a5b6c7d)`);
      job.uuid = uuid;
    }
    const group = this.text(raw.group, `${path}.group`);
    if (group !== undefined && group !== '') job.group = group;
    const description = this.text(raw.description, `${path}.description`);
    if (description !== undefined) job.description = description;

    this.sequence(raw.sequence, `${path}.sequence`, job);
    this.nodefilters(raw.nodefilters, `${path}.nodefilters`, job);
    this.notification(raw.notification, `${path}.notification`, job);

    const timeZone = this.text(raw.timeZone, `${path}.timeZone`);
    if (raw.schedule !== undefined && raw.schedule !== null) {
      job.schedule = parseScheduleSpec(raw.schedule, timeZone, `${path}.schedule`);
    } else if (raw.timeZone !== undefined) {
      // Without a schedule the zone has no effect; keep it for the export.
      extra.timeZone = raw.timeZone;
    }
    if (raw.timeout !== undefined && raw.timeout !== null && raw.timeout !== '') {
      const ms = this.duration(raw.timeout, `${path}.timeout`, '"1h30m", "90s" or "300" seconds');
      if (ms > 0) job.timeoutMs = ms;
    }
    return job;
  }

  loglevel(v: unknown, field: string): string {
    const s = this.text(v, field);
    if (s === undefined || s === '') return 'INFO';
    const level = s.toUpperCase();
    if (!LOG_LEVELS.includes(level)) throw fail(field, `must be one of ${LOG_LEVELS.join(', ')}`);
    return level;
  }

  retry(v: unknown, field: string): { count: number; delayMs: number } {
    if (v === undefined || v === null || v === '') return { count: 0, delayMs: 0 };
    let countRaw: unknown = v;
    let countField = field;
    let delayMs = 0;
    if (isRecord(v)) {
      for (const k of Object.keys(v)) {
        if (k !== 'retry' && k !== 'delay') throw fail(`${field}.${k}`, 'unknown field (expected retry and delay)');
      }
      countRaw = v.retry;
      countField = `${field}.retry`;
      if (v.delay !== undefined && v.delay !== null && v.delay !== '') delayMs = this.duration(v.delay, `${field}.delay`, '"30s" or "1m"');
    }
    const s = this.requiredText(countRaw, countField).trim();
    this.noOptionReference(s, countField);
    if (!/^\d+$/.test(s) || Number(s) > 1000) throw fail(countField, `must be a whole number of retries from 0 to 1000, not "${s}"`);
    return { count: Number(s), delayMs };
  }

  options(v: unknown, path: string): JobOption[] {
    if (v === undefined || v === null) return [];
    let entries: Array<[Raw, string, string | undefined]>;
    if (Array.isArray(v)) {
      entries = v.map((o, i) => {
        if (!isRecord(o)) throw fail(`${path}[${i}]`, 'must be a mapping with a name');
        return [o, `${path}[${i}]`, undefined];
      });
    } else if (isRecord(v)) {
      // Older Rundeck exports: options as a mapping keyed by name.
      entries = Object.entries(v).map(([name, o]) => {
        if (o !== null && !isRecord(o)) throw fail(`${path}.${name}`, 'must be a mapping');
        return [o ?? {}, `${path}.${name}`, name];
      });
    } else {
      throw fail(path, 'must be a list of options');
    }
    const seen = new Map<string, string>();
    return entries.map(([raw, p, keyName]) => {
      const option = this.option(raw, p, keyName);
      const env = optionEnvName(option.name);
      const clash = seen.get(env);
      if (clash !== undefined) {
        throw fail(`${p}.name`, clash === option.name ? `duplicate option "${option.name}"` : `"${option.name}" and "${clash}" would both be ${env}`);
      }
      seen.set(env, option.name);
      return option;
    });
  }

  option(raw: Raw, path: string, keyName: string | undefined): JobOption {
    const known = ['name', 'description', 'required', 'value', 'values', 'enforced', 'regex', 'secure'];
    const name = keyName ?? this.requiredText(raw.name, `${path}.name`);
    if (!OPTION_NAME.test(name) || name === '__proto__') throw fail(`${path}.name`, `"${name}" may contain only letters, digits, _ . and -`);
    const option: JobOption = {
      name,
      required: this.bool(raw.required, `${path}.required`, false),
      enforced: this.bool(raw.enforced, `${path}.enforced`, false),
      secure: this.bool(raw.secure, `${path}.secure`, false),
      // options.ts reads `multivalued` and `delimiter` from `extra`.
      extra: this.rest(raw, known, path, ['multivalued', 'delimiter']),
    };
    const description = this.text(raw.description, `${path}.description`);
    if (description !== undefined) option.description = description;
    const value = this.text(raw.value, `${path}.value`);
    if (value !== undefined) option.defaultValue = value;
    if (raw.values !== undefined && raw.values !== null) option.values = this.values(raw.values, raw.valuesListDelimiter, `${path}.values`);
    const regex = this.text(raw.regex, `${path}.regex`);
    if (regex !== undefined && regex !== '') {
      try {
        optionPattern(regex);
      } catch (e) {
        throw fail(`${path}.regex`, (e as Error).message);
      }
      option.regex = regex;
    }
    if (option.enforced && (!option.values || option.values.length === 0)) {
      throw fail(`${path}.values`, 'an enforced option needs a list of allowed values');
    }
    if (option.defaultValue !== undefined && option.defaultValue !== '') {
      if (option.enforced && !option.values!.includes(option.defaultValue)) {
        throw fail(`${path}.value`, `default "${option.defaultValue}" is not one of the allowed values ${option.values!.join(', ')}`);
      }
      if (option.regex !== undefined && !optionPattern(option.regex).test(option.defaultValue)) {
        throw fail(`${path}.value`, `default does not match the option's regex ${option.regex}`);
      }
    }
    return option;
  }

  values(v: unknown, delimiter: unknown, field: string): string[] {
    if (typeof v === 'string') {
      // Old exports: one string split by `valuesListDelimiter` (default ",").
      const d = typeof delimiter === 'string' && delimiter !== '' ? delimiter : ',';
      return v.split(d).map((s) => s.trim()).filter((s) => s !== '');
    }
    if (!Array.isArray(v)) throw fail(field, 'must be a list of strings');
    return v.map((x, i) => this.requiredText(x, `${field}[${i}]`));
  }

  sequence(v: unknown, path: string, job: JobDefinition): void {
    if (!isRecord(v)) throw fail(path, 'required: a mapping with "commands" (the steps)');
    const residual = this.rest(v, ['commands', 'keepgoing', 'strategy'], path);
    if (Object.keys(residual).length > 0) job.extra.sequence = residual;
    job.sequence.keepgoing = this.bool(v.keepgoing, `${path}.keepgoing`, false);
    const strategy = this.text(v.strategy, `${path}.strategy`);
    if (strategy !== undefined && strategy !== '') job.sequence.strategy = strategy;
    if (!Array.isArray(v.commands) || v.commands.length === 0) throw fail(`${path}.commands`, 'needs at least one step');
    job.sequence.steps = v.commands.map((c, i) => this.step(c, `${path}.commands[${i}]`));
  }

  step(raw: unknown, path: string): Step {
    if (!isRecord(raw)) throw fail(path, 'must be a mapping with exec, script or jobref');
    const kinds = (['exec', 'script', 'jobref'] as const).filter((k) => raw[k] !== undefined && raw[k] !== null);
    if (kinds.length !== 1) {
      const other = ['scriptfile', 'scripturl', 'type'].find((k) => raw[k] !== undefined);
      if (kinds.length === 0 && other) throw fail(path, `unsupported step (${other}): Tandem runs exec, script and jobref steps`);
      throw fail(path, kinds.length === 0 ? 'needs one of exec, script or jobref' : `has both ${kinds.join(' and ')}; a step is one of them`);
    }
    const description = this.text(raw.description, `${path}.description`);
    if (raw.errorhandler !== undefined && raw.errorhandler !== null) {
      // Kept in `extra.errorhandler`, run by server/nodes/error-handler.ts; checked now so a bad one fails the import.
      if (!isRecord(raw.errorhandler)) throw fail(`${path}.errorhandler`, 'must be a mapping with exec, script or jobref');
      const { keepgoingOnSuccess, ...handler } = raw.errorhandler;
      this.bool(keepgoingOnSuccess, `${path}.errorhandler.keepgoingOnSuccess`, false);
      if (handler.errorhandler !== undefined) throw fail(`${path}.errorhandler.errorhandler`, 'an error handler has no error handler of its own');
      this.step(handler, `${path}.errorhandler`);
    }
    const withDescription = <S extends Step>(s: S): S => (description === undefined ? s : { ...s, description });
    switch (kinds[0]!) {
      case 'exec':
        return withDescription({
          kind: 'exec',
          exec: this.requiredText(raw.exec, `${path}.exec`),
          extra: this.rest(raw, ['exec', 'description'], path, ['errorhandler']),
        });
      case 'script': {
        const step: Extract<Step, { kind: 'script' }> = {
          kind: 'script',
          script: this.requiredText(raw.script, `${path}.script`),
          extra: this.rest(raw, ['script', 'args', 'scriptInterpreter', 'description'], path, ['errorhandler']),
        };
        const args = this.text(raw.args, `${path}.args`);
        if (args !== undefined) step.args = args;
        const interpreter = this.text(raw.scriptInterpreter, `${path}.scriptInterpreter`);
        if (interpreter !== undefined && interpreter !== '') step.interpreter = interpreter;
        return withDescription(step);
      }
      case 'jobref': {
        const ref = raw.jobref;
        const refPath = `${path}.jobref`;
        if (!isRecord(ref)) throw fail(refPath, 'must be a mapping with uuid, or group and name');
        const extra = this.rest(raw, ['jobref', 'description'], path, ['errorhandler']);
        const refRest = this.rest(ref, ['uuid', 'name', 'group', 'project', 'args'], refPath);
        if (Object.keys(refRest).length > 0) extra.jobref = refRest;
        const out: Extract<Step, { kind: 'jobref' }>['ref'] = {};
        for (const k of ['uuid', 'name', 'group', 'project', 'args'] as const) {
          const s = this.text(ref[k], `${refPath}.${k}`);
          if (s !== undefined && s !== '') out[k] = s;
        }
        if (out.uuid === undefined && out.name === undefined) throw fail(refPath, 'needs uuid, or name (with group when the job has one)');
        if (out.uuid !== undefined && !UUID.test(out.uuid)) throw fail(`${refPath}.uuid`, `"${out.uuid}" is not a UUID`);
        return withDescription({ kind: 'jobref', ref: out, extra });
      }
    }
  }

  nodefilters(v: unknown, path: string, job: JobDefinition): void {
    if (v === undefined || v === null) return;
    if (!isRecord(v)) throw fail(path, 'must be a mapping with "filter"');
    // `filterExclude` and `dispatch` are kept in `extra.nodefilters` and honoured by server/nodes/dispatch.ts.
    const residual = this.rest(v, ['filter'], path, ['filterExclude', 'dispatch']);
    if (Object.keys(residual).length > 0) job.extra.nodefilters = residual;
    const filter = this.text(v.filter, `${path}.filter`);
    if (filter !== undefined) job.nodeFilter = filter;
    readNodeDispatch(job, path);
  }

  notification(v: unknown, path: string, job: JobDefinition): void {
    if (v === undefined || v === null) return;
    if (!isRecord(v)) throw fail(path, 'must be a mapping of onsuccess, onfailure, onstart');
    const residual: Raw = {};
    for (const [event, value] of Object.entries(v)) {
      if (!(NOTIFICATION_EVENTS as readonly string[]).includes(event) && event !== 'onavgduration') {
        put(residual, event, value);
        this.warnings.push(`${path}.${event}: unknown field, kept`);
        continue;
      }
      const eventPath = `${path}.${event}`;
      if (value === null) continue;
      if (isRecord(value) && value.email !== undefined && value.email !== null) {
        (job.email ??= {})[event as EmailEvent] = this.email(value.email, `${eventPath}.email`);
      }
      if (event === 'onavgduration') {
        // Only its e-mail is sent; anything else under it (webhook urls, plugins) is kept for export.
        const rest = isRecord(value) ? this.rest(value, ['email'], eventPath) : {};
        if (Object.keys(rest).length > 0) residual[event] = rest;
        continue;
      }
      if (!isRecord(value)) throw fail(eventPath, 'must be a mapping with "urls" and/or "email"');
      const rest = this.rest(value, ['urls', 'email'], eventPath);
      if (Object.keys(rest).length > 0) residual[event] = rest;
      if (value.urls !== undefined && value.urls !== null) {
        job.notification[event as keyof Notification] = this.urls(value.urls, `${eventPath}.urls`);
      }
    }
    if (Object.keys(residual).length > 0) job.extra.notification = residual;
  }

  /** `email: {recipients: 'a@x,b@y', subject, attachLog}` (Rundeck writes recipients as one comma-separated string). */
  email(v: unknown, field: string): EmailNotification {
    if (!isRecord(v)) throw fail(field, 'must be a mapping with "recipients"');
    const unknown = Object.keys(v).filter((k) => !['recipients', 'subject', 'attachLog', 'attachLogInFile', 'attachLogInline'].includes(k));
    if (unknown.length) throw fail(`${field}.${unknown[0]}`, 'unknown field (expected recipients, subject, attachLog)');
    const raw = v.recipients;
    const list = typeof raw === 'string' ? raw.split(',') : Array.isArray(raw) ? raw : null;
    if (!list) throw fail(`${field}.recipients`, 'must be an address or a comma-separated list of addresses');
    const recipients = list.map((r, i) => {
      if (typeof r !== 'string' || !/^[^\s@,<>]+@[^\s@,<>]+$/.test(r.trim())) throw fail(`${field}.recipients`, `${JSON.stringify(list[i])} is not an e-mail address`);
      return r.trim();
    });
    if (!recipients.length) throw fail(`${field}.recipients`, 'needs at least one address');
    const out: EmailNotification = { recipients, attachLog: this.bool(v.attachLog, `${field}.attachLog`, false) };
    const subject = this.text(v.subject, `${field}.subject`);
    if (subject !== undefined && subject !== '') out.subject = subject;
    return out;
  }

  urls(v: unknown, field: string): string[] {
    // Rundeck writes several URLs as one comma-separated string.
    const list = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : null;
    if (!list) throw fail(field, 'must be a URL or a comma-separated list of URLs');
    return list
      .map((u, i) => {
        if (typeof u !== 'string') throw fail(`${field}[${i}]`, 'must be a URL');
        return u.trim();
      })
      .filter((u) => u !== '')
      .map((u) => {
        let url: URL;
        try {
          url = new URL(u);
        } catch {
          throw fail(field, `"${u}" is not a URL`);
        }
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(field, `"${u}" is not an http(s) URL`);
        return u;
      });
  }
}

/**
 * Jobs from a parsed document: a list of jobs (Rundeck export) or one job.
 * Field paths are `jobs[i]....` either way.
 */
export function readJobs(doc: unknown): { jobs: JobDefinition[]; warnings: string[] } {
  const warnings: string[] = [];
  const reader = new JobReader(warnings);
  if (doc === null || doc === undefined) throw fail('jobs', 'the document is empty; expected a list of jobs');
  const list = Array.isArray(doc) ? doc : isRecord(doc) ? [doc] : null;
  if (!list) throw fail('jobs', 'expected a list of jobs or one job mapping');
  const jobs = list.map((raw, i) => reader.job(raw, `jobs[${i}]`));
  const byUuid = new Map<string, number>();
  const byName = new Map<string, number>();
  jobs.forEach((job, i) => {
    if (job.uuid !== undefined) {
      const prior = byUuid.get(job.uuid.toLowerCase());
      if (prior !== undefined) throw fail(`jobs[${i}].uuid`, `same uuid as jobs[${prior}]`);
      byUuid.set(job.uuid.toLowerCase(), i);
    }
    const key = `${job.group ?? ''}/${job.name}`;
    const prior = byName.get(key);
    if (prior !== undefined) throw fail(`jobs[${i}].name`, `same group and name as jobs[${prior}]`);
    byName.set(key, i);
  });
  return { jobs, warnings };
}
