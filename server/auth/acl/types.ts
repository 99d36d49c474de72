/** Vocabulary of the access-control policies (see README "Access control"). */
export const ACTIONS = ['read', 'run', 'create', 'update', 'delete', 'kill', 'admin'] as const;
export type Action = (typeof ACTIONS)[number];

export const RESOURCE_TYPES = ['project', 'job', 'execution', 'system', 'token', 'audit'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** What a request wants to touch. Jobs and executions name their project (and job). */
export interface Resource {
  type: ResourceType;
  project?: string;
  job?: { name: string; group?: string };
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
  equals: { name?: string; group?: string };
  match: { name?: RegExp; group?: RegExp };
  allow: ReadonlySet<Action>;
  deny: ReadonlySet<Action>;
}

export type PolicyContext = { kind: 'project'; project: RegExp } | { kind: 'application' };

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
