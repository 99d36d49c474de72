/**
 * Rundeck's resource model document formats → node entries. Pure.
 *
 * - `resourceyaml` (.yaml/.yml): a list of nodes, or a mapping name → node
 *   (then `nodename` may be left out).
 * - `resourcejson` (.json): the same shapes in JSON.
 * - `resourcexml` (.xml): `<project><node name= hostname= tags="a,b" .../>`;
 *   further attributes as XML attributes or `<attribute name= value=/>`.
 *
 * Every attribute becomes a string (numbers and booleans as text, as Rundeck
 * stores them); `tags` is a comma string or a list and becomes a list of
 * trimmed, non-empty tags. `name` in XML and `nodename` in YAML/JSON name the
 * node; the entry's attributes always carry `nodename`.
 */
import { XMLParser } from 'fast-xml-parser';
import { parse as parseYaml } from 'yaml';
import { TandemError } from '../errors.js';
import type { NodeEntry } from './node-executor.js';

export const FORMATS = ['resourceyaml', 'resourcejson', 'resourcexml'] as const;
export type ResourceFormat = (typeof FORMATS)[number];

/** Format from a file name's extension (Rundeck's file source rule), or null. */
export function formatFromExtension(file: string): ResourceFormat | null {
  const ext = file.toLowerCase().split(/[\\/]/).pop()!.split('.').pop();
  if (ext === 'yaml' || ext === 'yml') return 'resourceyaml';
  if (ext === 'json') return 'resourcejson';
  if (ext === 'xml') return 'resourcexml';
  return null;
}

/** Format from an HTTP Content-Type (Rundeck's url source rule), or null. */
export function formatFromMime(contentType: string | null | undefined): ResourceFormat | null {
  const mime = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (/^(text|application)\/(x-)?yaml$/.test(mime)) return 'resourceyaml';
  if (mime === 'application/json' || mime === 'text/json') return 'resourcejson';
  if (mime === 'text/xml' || mime === 'application/xml') return 'resourcexml';
  return null;
}

function bad(message: string): TandemError {
  return new TandemError('validation_failed', message);
}

function asText(v: unknown, where: string): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  throw bad(`${where}: must be a string, not ${Array.isArray(v) ? 'a list' : 'a mapping'}`);
}

function tagList(v: unknown, where: string): string[] {
  if (v === null || v === undefined) return [];
  const parts = Array.isArray(v) ? v.map((x, i) => asText(x, `${where}[${i}]`)) : asText(v, where).split(',');
  return [...new Set(parts.map((s) => s.trim()).filter((s) => s !== ''))];
}

/** One node from a mapping of attributes; `key` is the name when the document is keyed by name. */
export function nodeFromRecord(raw: unknown, where: string, key?: string, nameAttr = 'nodename'): NodeEntry {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(`${where}: a node must be a mapping of attributes`);
  const rec = raw as Record<string, unknown>;
  const attributes: Record<string, string> = Object.create(null) as Record<string, string>;
  let tags: string[] = [];
  for (const [k, v] of Object.entries(rec)) {
    if (k === 'tags') tags = tagList(v, `${where}.tags`);
    else attributes[k] = asText(v, `${where}.${k}`);
  }
  const name = (attributes[nameAttr] ?? '').trim() || (key ?? '').trim();
  if (!name) throw bad(`${where}: node has no ${nameAttr}`);
  if (nameAttr !== 'nodename') delete attributes[nameAttr];
  attributes.nodename = name;
  return { name, attributes: { ...attributes }, tags };
}

function fromStructure(doc: unknown, what: string): NodeEntry[] {
  if (doc === null || doc === undefined || doc === '') return [];
  if (Array.isArray(doc)) return doc.map((n, i) => nodeFromRecord(n, `${what}[${i}]`));
  if (typeof doc === 'object') return Object.entries(doc as Record<string, unknown>).map(([k, n]) => nodeFromRecord(n ?? {}, `${what}.${k}`, k));
  throw bad(`${what}: expected a list of nodes or a mapping of node name to attributes`);
}

function fromXml(text: string): NodeEntry[] {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '',
    parseAttributeValue: false,
    parseTagValue: false,
    isArray: (name) => name === 'node' || name === 'attribute',
    // Only the five XML entities: a DOCTYPE cannot define more (no entity expansion attacks).
    processEntities: true,
    htmlEntities: false,
  });
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text, true) as Record<string, unknown>;
  } catch (e) {
    throw bad(`resourcexml: not well-formed XML: ${(e as Error).message}`);
  }
  const project = doc.project;
  if (project === undefined) throw bad('resourcexml: the document element must be <project>');
  if (project === '' || project === null) return [];
  const nodes = ((project as Record<string, unknown>).node ?? []) as Array<Record<string, unknown>>;
  return nodes.map((n, i) => {
    const attrs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n)) if (k !== 'attribute' && k !== '#text') attrs[k] = v;
    for (const [j, a] of ((n.attribute ?? []) as Array<Record<string, unknown>>).entries()) {
      const name = a.name;
      if (typeof name !== 'string' || name === '') throw bad(`resourcexml: node[${i}].attribute[${j}] has no name`);
      attrs[name] = a.value ?? a['#text'] ?? '';
    }
    return nodeFromRecord(attrs, `resourcexml: node[${i}]`, undefined, 'name');
  });
}

/** Parses one resource document. Errors name the format and the node. */
export function parseResources(text: string, format: ResourceFormat): NodeEntry[] {
  switch (format) {
    case 'resourceyaml': {
      let doc: unknown;
      try {
        doc = parseYaml(text, { maxAliasCount: 100 });
      } catch (e) {
        throw bad(`resourceyaml: ${(e as Error).message.split('\n')[0]}`);
      }
      return fromStructure(doc, 'resourceyaml');
    }
    case 'resourcejson': {
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch (e) {
        throw bad(`resourcejson: ${(e as Error).message}`);
      }
      return fromStructure(doc, 'resourcejson');
    }
    case 'resourcexml':
      return fromXml(text);
  }
}
