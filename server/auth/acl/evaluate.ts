/**
 * Policy decision: collect the rules that apply to this subject, context and
 * resource; any matching deny wins, else any matching allow allows, else the
 * request is denied (no rule means no access).
 */
import type { Action, CompiledPolicy, CompiledRule, Decision, Resource, Subject } from './types.js';

/** Policies grouped by the roles and users they name, so a check only looks at the subject's own. */
export class PolicySet {
  private readonly byRole = new Map<string, CompiledPolicy[]>();
  private readonly byUser = new Map<string, CompiledPolicy[]>();

  constructor(readonly policies: readonly CompiledPolicy[]) {
    for (const p of policies) {
      for (const r of p.by.roles) push(this.byRole, r, p);
      for (const u of p.by.users) push(this.byUser, u, p);
    }
  }

  /** The policies that name this subject (by user name or one of its roles), each once. */
  forSubject(s: Subject): CompiledPolicy[] {
    const seen = new Set<CompiledPolicy>();
    for (const p of this.byUser.get(s.user) ?? []) seen.add(p);
    for (const r of s.roles) for (const p of this.byRole.get(r) ?? []) seen.add(p);
    return [...seen];
  }

  decide(subject: Subject, action: Action, resource: Resource): Decision {
    let allowedBy: CompiledRule | undefined;
    for (const policy of this.forSubject(subject)) {
      if (!contextApplies(policy, resource)) continue;
      for (const rule of policy.rules[resource.type] ?? []) {
        if (!ruleMatches(rule, resource)) continue;
        if (rule.deny.has(action)) return { allowed: false, reason: `denied by ${rule.where}` };
        if (!allowedBy && rule.allow.has(action)) allowedBy = rule;
      }
    }
    return allowedBy ? { allowed: true, reason: `allowed by ${allowedBy.where}` } : { allowed: false, reason: 'no rule allows it' };
  }

  /**
   * Whether `action` could be allowed on some resource of this type and
   * project, whatever its name: a rule allows it (name and group matchers
   * ignored) and no rule that matches every name denies it. For checking a
   * route before its body is read (a job import: the jobs' names are in the
   * body); the exact decision is still made for each job afterwards.
   */
  mayEver(subject: Subject, action: Action, resource: Resource): boolean {
    let allowed = false;
    for (const policy of this.forSubject(subject)) {
      if (!contextApplies(policy, resource)) continue;
      for (const rule of policy.rules[resource.type] ?? []) {
        const matchesAll = rule.equals.name === undefined && rule.equals.group === undefined && !rule.match.name && !rule.match.group;
        if (matchesAll && rule.deny.has(action)) return false;
        if (rule.allow.has(action)) allowed = true;
      }
    }
    return allowed;
  }

  /**
   * Whether `action` on the jobs of `project` is decided the same for every
   * job: 'all' or 'none' when no rule naming the action matches on job name
   * or group (a list can then be paged in SQL), 'some' when such a rule
   * exists and each job must be decided by `decide`.
   */
  jobScope(subject: Subject, action: Action, project: string): 'all' | 'none' | 'some' {
    const resource: Resource = { type: 'job', project };
    let allowed = false;
    let denied = false;
    for (const policy of this.forSubject(subject)) {
      if (!contextApplies(policy, resource)) continue;
      for (const rule of policy.rules.job ?? []) {
        if (!rule.allow.has(action) && !rule.deny.has(action)) continue;
        const matchesAll = rule.equals.name === undefined && rule.equals.group === undefined && !rule.match.name && !rule.match.group;
        if (!matchesAll) return 'some';
        if (rule.deny.has(action)) denied = true;
        if (rule.allow.has(action)) allowed = true;
      }
    }
    return allowed && !denied ? 'all' : 'none';
  }
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V) {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/** Jobs, executions and nodes live in a project context; projects, system, tokens, audit and storage in the application context. */
function contextApplies(p: CompiledPolicy, r: Resource): boolean {
  if (r.type === 'job' || r.type === 'execution' || r.type === 'node') return p.context.kind === 'project' && p.context.project.test(r.project ?? '');
  return p.context.kind === 'application';
}

function ruleMatches(rule: CompiledRule, r: Resource): boolean {
  let name: string | undefined;
  let group: string | undefined;
  let path: string | undefined;
  if (r.type === 'project') name = r.project ?? '';
  else if (r.type === 'storage') {
    // As in Rundeck: `path` is the whole path, `name` its last segment.
    path = r.path ?? '';
    name = path.slice(path.lastIndexOf('/') + 1);
  }
  else if (r.type === 'job' || r.type === 'execution') {
    name = r.job?.name ?? '';
    group = r.job?.group ?? '';
  }
  if (rule.equals.name !== undefined && rule.equals.name !== name) return false;
  if (rule.equals.group !== undefined && rule.equals.group !== group) return false;
  if (rule.match.name && !rule.match.name.test(name ?? '')) return false;
  if (rule.match.group && !rule.match.group.test(group ?? '')) return false;
  if (rule.equals.path !== undefined && rule.equals.path !== path) return false;
  if (rule.match.path && !rule.match.path.test(path ?? '')) return false;
  return true;
}
