/**
 * Rundeck job files, YAML or JSON, in and out.
 *
 * Syntax errors carry line and column. Content errors name the field
 * (`jobs[0].schedule.crontab`) and, when the field is in the text, its line
 * and column as well, so a person can find it in a long export.
 */
import { isMap, isSeq, LineCounter, parseDocument, stringify, type Document } from 'yaml';
import { isTandemError, TandemError } from '../errors.js';
import type { JobDefinition } from './definition.js';
import { readJobs } from './rundeck-read.js';
import { sortKeys, writeJob } from './rundeck-write.js';

export type JobFormat = 'yaml' | 'json';

interface Located {
  doc: Document.Parsed;
  lines: LineCounter;
}

function syntaxError(format: JobFormat, line: number, column: number, what: string): TandemError {
  const kind = format === 'yaml' ? 'YAML' : 'JSON';
  return new TandemError('invalid_yaml', `invalid ${kind} at line ${line}, column ${column}: ${what}`, {
    details: { line, column },
  });
}

function parseYaml(text: string, format: JobFormat, schema?: 'json'): Located {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, ...(schema ? { schema } : {}) });
  const first = doc.errors[0];
  if (first) {
    const pos = first.linePos?.[0] ?? lines.linePos(first.pos[0]);
    throw syntaxError(format, pos.line, pos.col, first.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''));
  }
  return { doc, lines };
}

/** Line and column of character `offset` (0-based) in `text`. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    const at = /at position (\d+)/.exec(message);
    if (at) {
      const { line, column } = lineColumn(text, Number(at[1]));
      throw syntaxError('json', line, column, message.replace(/ in JSON at position \d+.*$/, '').replace(/ at position \d+.*$/, ''));
    }
    if (/end of JSON input/.test(message)) {
      const { line, column } = lineColumn(text, text.length);
      throw syntaxError('json', line, column, 'unexpected end of input');
    }
    // V8 omits the position for an unexpected token; the YAML parser in JSON mode finds it.
    parseYaml(text, 'json', 'json');
    throw syntaxError('json', 1, 1, message);
  }
}

/** `jobs[0].options[1].regex` → the YAML path [0, 'options', 1, 'regex'] (without the index for a single-job document). */
function yamlPath(field: string, rootIsList: boolean): Array<string | number> {
  const parts: Array<string | number> = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (m[2] !== undefined) parts.push(Number(m[2]));
    else parts.push(m[1]!);
  }
  if (parts[0] === 'jobs') parts.shift();
  if (!rootIsList && parts[0] === 0) parts.shift();
  return parts;
}

/** Adds "(line L, column C)" of the field's node, or of its nearest ancestor in the text. */
function locate(err: TandemError, located: Located): TandemError {
  if (err.field === undefined) return err;
  const root = located.doc.contents;
  let path = yamlPath(err.field, isSeq(root));
  while (path.length > 0) {
    const node = located.doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    const parent = path.length > 1 ? located.doc.getIn(path.slice(0, -1), true) : root;
    // For a missing key, point at the mapping that should have it.
    const target = node?.range ? node : isMap(parent) || isSeq(parent) ? (parent as { range?: [number, number, number] }) : undefined;
    if (target?.range) {
      const pos = located.lines.linePos(target.range[0]);
      return new TandemError(err.code, `${err.message} (line ${pos.line}, column ${pos.col})`, {
        field: err.field,
        details: { ...err.details, line: pos.line, column: pos.col },
        cause: err.cause,
      });
    }
    path = path.slice(0, -1);
  }
  return err;
}

/**
 * Jobs from a Rundeck export (a list) or a single job mapping, in YAML or
 * JSON. Unknown fields are kept (see rundeck-read.ts) with one warning each.
 */
export function parseJobs(text: string, format: JobFormat): { jobs: JobDefinition[]; warnings: string[] } {
  let located: Located | undefined;
  let doc: unknown;
  if (format === 'yaml') {
    located = parseYaml(text, 'yaml');
    try {
      // maxAliasCount bounds alias expansion ("billion laughs"); the library then throws a ReferenceError.
      doc = located.doc.toJS({ maxAliasCount: 100 });
    } catch (e) {
      if (!(e instanceof ReferenceError)) throw e;
      throw new TandemError('invalid_yaml', `invalid YAML: ${e.message.slice(0, 200)}`);
    }
  } else {
    doc = parseJson(text);
  }
  try {
    return readJobs(doc);
  } catch (e) {
    if (!isTandemError(e)) throw e;
    // JSON is YAML too: parse it again only now, to find the field's position.
    located ??= parseYaml(text, 'json');
    throw locate(e, located);
  }
}

const yamlOptions = { lineWidth: 0, aliasDuplicateObjects: false, indentSeq: false, singleQuote: true } as const;

/**
 * `exportJobs` a job at a time, for an answer streamed to the client (a
 * project of thousands of jobs is never one string in memory): the same
 * document, in pieces.
 */
export function* exportJobsStream(jobs: JobDefinition[], format: JobFormat): Generator<string> {
  if (format === 'json') {
    if (!jobs.length) return yield '[]\n';
    for (let i = 0; i < jobs.length; i++) {
      const item = JSON.stringify(sortKeys(writeJob(jobs[i]!)), null, 2).replace(/\n/g, '\n  ');
      yield `${i === 0 ? '[\n  ' : ',\n  '}${item}`;
    }
    return yield '\n]\n';
  }
  if (!jobs.length) return yield '[]\n';
  // A YAML list is its items one after the other.
  for (const j of jobs) yield stringify([sortKeys(writeJob(j))], yamlOptions);
}

/** Rundeck's export shape: a list of jobs, keys in alphabetical order. `parseJobs(exportJobs(x))` gives back `x`. */
export function exportJobs(jobs: JobDefinition[], format: JobFormat): string {
  const list = jobs.map((j) => sortKeys(writeJob(j)));
  if (format === 'json') return `${JSON.stringify(list, null, 2)}\n`;
  return stringify(list, yamlOptions);
}
