/** Vocabulary of the access-control policies (see README "Access control"). */
import type { UserPattern } from '../../patterns/user-pattern.js';

/** `configure`: a project's node sources (Rundeck's project configure). */
export const ACTIONS = ['read', 'run', 'create', 'update', 'delete', 'kill', 'admin', 'configure'] as const;
export type Action = (typeof ACTIONS)[number];

/** `node`: a project's resource model (read: list its nodes). `storage`: Key Storage entries, by path. */
export const RESOURCE_TYPES = ['project', 'job', 'execution', 'system', 'token', 'audit', 'node', 'storage'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** What a request wants to touch. Jobs and executions name their project (and job). */
export interface Resource {
  type: ResourceType;
  project?: string;
  job?: { name: string; group?: string };
  /** Key Storage entries and directories: the full path, `keys/project/ops/id_rsa` (rules test `path` and `name`). */
  path?: string;
}

/** Who is asking, as far as a policy cares. */
export interface Subject {
  user: string;
  roles: string[];
}

/** A rule of a policy's `for` section, compiled. */
export interface CompiledRule {
  /** `file:line` of the rule, for explanations. */
  where: string;
  equals: { name?: string; group?: string; path?: string };
  match: { name?: UserPattern; group?: UserPattern; path?: UserPattern };
  allow: ReadonlySet<Action>;
  deny: ReadonlySet<Action>;
}

export type PolicyContext = { kind: 'project'; project: UserPattern } | { kind: 'application' };

export interface CompiledPolicy {
  where: string;
  description: string;
  context: PolicyContext;
  by: { roles: ReadonlySet<string>; users: ReadonlySet<string> };
  rules: Partial<Record<ResourceType, CompiledRule[]>>;
}

export interface Decision {
  allowed: boolean;
  /** Human-readable reason: the deciding rule, or "no rule allows it". */
  reason: string;
}
