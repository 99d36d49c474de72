/**
 * Parser and validator of ACL policy files: YAML documents (separated by
 * `---`) modelled on Rundeck's `.aclpolicy`. Every error names the file, line
 * and column of the offending value, so `tandem acl validate` and server
 * start-up point at the exact spot.
 */
import { LineCounter, isMap, isScalar, isSeq, parseAllDocuments, type Node, type YAMLMap } from 'yaml';
import { TandemError } from '../../errors.js';
import { compileUserPattern, type UserPattern } from '../../patterns/user-pattern.js';
import { ACTIONS, RESOURCE_TYPES, type Action, type CompiledPolicy, type CompiledRule, type ResourceType } from './types.js';

export interface AclProblem {
  file: string;
  line: number;
  col: number;
  path: string;
  message: string;
}

export function formatProblem(p: AclProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path ? p.path + ': ' : ''}${p.message}`;
}

export interface ParseResult {
  policies: CompiledPolicy[];
  problems: AclProblem[];
}

class Checker {
  problems: AclProblem[] = [];
  constructor(
    readonly file: string,
    readonly lc: LineCounter,
  ) {}

  fail(node: Node | null | undefined, path: string, message: string, fallbackOffset = 0): undefined {
    const offset = node?.range?.[0] ?? fallbackOffset;
    const pos = this.lc.linePos(offset);
    this.problems.push({ file: this.file, line: pos.line, col: pos.col, path, message });
    return undefined;
  }

  line(node: Node | null | undefined, fallbackOffset = 0): number {
    return this.lc.linePos(node?.range?.[0] ?? fallbackOffset).line;
  }

  /** Keys of a mapping, refusing unknown ones. */
  entries(map: YAMLMap, path: string, allowed: readonly string[]): Map<string, Node | null> {
    const out = new Map<string, Node | null>();
    for (const pair of map.items) {
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? String(keyNode.value) : undefined;
      if (key === undefined) {
        this.fail(keyNode, path, 'keys must be plain names');
        continue;
      }
      if (!allowed.includes(key)) {
        this.fail(keyNode, path ? `${path}.${key}` : key, `unknown key (expected one of ${allowed.join(', ')})`);
        continue;
      }
      out.set(key, (pair.value as Node | null) ?? null);
    }
    return out;
  }

  string(node: Node | null | undefined, path: string): string | undefined {
    if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number')) return this.fail(node, path, 'expected a string');
    return String(node.value);
  }

  /** A string or a list of strings. */
  strings(node: Node | null | undefined, path: string): string[] | undefined {
    if (isSeq(node)) {
      const out: string[] = [];
      node.items.forEach((item, i) => {
        const s = this.string(item as Node, `${path}[${i}]`);
        if (s !== undefined) out.push(s);
      });
      return out;
    }
    const s = this.string(node, path);
    return s === undefined ? undefined : [s];
  }

  /** Whole-value match (Rundeck: Java's String.matches) on RE2: linear time whatever the pattern (patterns/user-pattern.ts). */
  regex(node: Node | null | undefined, path: string): UserPattern | undefined {
    const s = this.string(node, path);
    if (s === undefined) return undefined;
    try {
      return compileUserPattern(s);
    } catch (e) {
      return this.fail(node, path, (e as Error).message);
    }
  }

  actions(node: Node | null | undefined, path: string): Set<Action> | undefined {
    const list = this.strings(node, path);
    if (!list) return undefined;
    const out = new Set<Action>();
    list.forEach((a, i) => {
      if (a === '*') ACTIONS.forEach((x) => out.add(x));
      else if ((ACTIONS as readonly string[]).includes(a)) out.add(a as Action);
      else {
        const item = isSeq(node) ? (node.items[i] as Node) : node;
        this.fail(item, isSeq(node) ? `${path}[${i}]` : path, `unknown action "${a}" (expected one of ${ACTIONS.join(', ')} or *)`);
      }
    });
    return out;
  }
}

/** Properties a rule may test, per resource type. */
const RULE_PROPERTIES: Record<ResourceType, readonly string[]> = {
  project: ['name'],
  job: ['name', 'group'],
  execution: ['name', 'group'],
  system: [],
  token: [],
  audit: [],
  node: [],
  storage: ['path', 'name'],
};

function parseRule(c: Checker, node: Node | null, path: string, type: ResourceType): CompiledRule | undefined {
  if (!isMap(node)) return c.fail(node, path, 'expected a rule mapping (equals/match, allow/deny)');
  const e = c.entries(node, path, ['equals', 'match', 'allow', 'deny']);
  const rule: CompiledRule = { where: `${c.file}:${c.line(node)}`, equals: {}, match: {}, allow: new Set(), deny: new Set() };
  for (const kind of ['equals', 'match'] as const) {
    const sub = e.get(kind);
    if (sub === undefined) continue;
    if (!isMap(sub)) {
      c.fail(sub, `${path}.${kind}`, 'expected a mapping of properties');
      continue;
    }
    const props = c.entries(sub, `${path}.${kind}`, RULE_PROPERTIES[type]);
    for (const [prop, v] of props) {
      const p = prop as 'name' | 'group' | 'path';
      if (kind === 'equals') {
        const s = c.string(v, `${path}.${kind}.${prop}`);
        if (s !== undefined) rule.equals[p] = s;
      } else {
        const re = c.regex(v, `${path}.${kind}.${prop}`);
        if (re) rule.match[p] = re;
      }
    }
  }
  if (!e.has('allow') && !e.has('deny')) c.fail(node, path, 'a rule needs allow or deny');
  if (e.has('allow')) rule.allow = c.actions(e.get('allow'), `${path}.allow`) ?? new Set();
  if (e.has('deny')) rule.deny = c.actions(e.get('deny'), `${path}.deny`) ?? new Set();
  return rule;
}

function parsePolicy(c: Checker, node: Node | null, docOffset: number, index: number): CompiledPolicy | undefined {
  const where = `document ${index + 1}`;
  if (!isMap(node)) return c.fail(node, '', `${where}: expected a policy mapping with description, context, for and by`, docOffset);
  const e = c.entries(node, '', ['description', 'context', 'for', 'by']);
  for (const k of ['context', 'for', 'by']) if (!e.has(k)) c.fail(node, '', `${where}: missing "${k}"`);

  const description = e.has('description') ? (c.string(e.get('description'), 'description') ?? '') : '';

  let context: CompiledPolicy['context'] | undefined;
  const ctxNode = e.get('context');
  if (ctxNode !== undefined) {
    if (!isMap(ctxNode) || ctxNode.items.length !== 1) c.fail(ctxNode, 'context', 'expected exactly one of project: REGEX or application: tandem');
    else {
      const ce = c.entries(ctxNode, 'context', ['project', 'application']);
      if (ce.has('project')) {
        const re = c.regex(ce.get('project'), 'context.project');
        if (re) context = { kind: 'project', project: re };
      } else if (ce.has('application')) {
        const app = c.string(ce.get('application'), 'context.application');
        // `rundeck` is accepted so that Rundeck policy files load unchanged.
        if (app !== undefined && app !== 'tandem' && app !== 'rundeck') c.fail(ce.get('application'), 'context.application', 'expected "tandem"');
        else if (app !== undefined) context = { kind: 'application' };
      }
    }
  }

  const rules: CompiledPolicy['rules'] = {};
  const forNode = e.get('for');
  if (forNode !== undefined) {
    if (!isMap(forNode)) c.fail(forNode, 'for', `expected a mapping of resource types (${RESOURCE_TYPES.join(', ')})`);
    else {
      const fe = c.entries(forNode, 'for', RESOURCE_TYPES);
      for (const [type, list] of fe) {
        const t = type as ResourceType;
        const appOnly = t === 'project' || t === 'system' || t === 'token' || t === 'audit' || t === 'storage'; // node: project context
        if (context?.kind === 'project' && appOnly)
          c.fail(list, `for.${t}`, `"${t}" rules belong in a policy with context application: tandem`);
        if (context?.kind === 'application' && !appOnly)
          c.fail(list, `for.${t}`, `"${t}" rules belong in a policy with context project: REGEX`);
        if (!isSeq(list)) {
          c.fail(list, `for.${t}`, 'expected a list of rules');
          continue;
        }
        rules[t] = list.items
          .map((item, i) => parseRule(c, item as Node, `for.${t}[${i}]`, t))
          .filter((r): r is CompiledRule => !!r);
      }
    }
  }

  const by = { roles: new Set<string>(), users: new Set<string>() };
  const byNode = e.get('by');
  if (byNode !== undefined) {
    if (!isMap(byNode)) c.fail(byNode, 'by', 'expected group: and/or username:');
    else {
      const be = c.entries(byNode, 'by', ['group', 'role', 'username']);
      if (be.size === 0) c.fail(byNode, 'by', 'expected group: and/or username:');
      for (const [k, v] of be) {
        const list = c.strings(v, `by.${k}`) ?? [];
        for (const s of list) (k === 'username' ? by.users : by.roles).add(s);
      }
    }
  }
  if (!context) return undefined;
  return { where: `${c.file}:${c.line(node)}`, description, context, by, rules };
}

/** Parse one policy file's text. Problems are collected, not thrown. */
export function parseAclText(text: string, file: string): ParseResult {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
  const c = new Checker(file, lc);
  const policies: CompiledPolicy[] = [];
  const list = Array.isArray(docs) ? docs : [];
  if (!Array.isArray(docs)) c.fail(null, '', 'not a YAML document stream');
  list.forEach((doc, i) => {
    if (doc.errors.length) {
      for (const err of doc.errors) {
        const pos = lc.linePos(err.pos[0]);
        c.problems.push({ file, line: pos.line, col: pos.col, path: '', message: `invalid YAML: ${err.message.split('\n')[0]}` });
      }
      return;
    }
    if (doc.contents === null) return; // an empty document (e.g. a trailing ---)
    const p = parsePolicy(c, doc.contents as Node, doc.range[0], i);
    if (p) policies.push(p);
  });
  if (!policies.length && !c.problems.length) c.fail(null, '', 'no policy in file');
  return { policies, problems: c.problems };
}

/** Parse, throwing a TandemError that lists every problem (first one in the message). */
export function parseAclOrThrow(text: string, file: string): CompiledPolicy[] {
  const { policies, problems } = parseAclText(text, file);
  if (problems.length) {
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem(s))` : '';
    throw new TandemError('validation_failed', `invalid ACL policy: ${formatProblem(problems[0]!)}${more}`, {
      details: { problems: problems.map(formatProblem) },
    });
  }
  return policies;
}
