/**
 * The remote execution policy (Rundeck's names): which member of the site
 * runs an execution that a member took (a run request, a schedule firing).
 *
 * - `none`: the member that took it (no hand-over).
 * - `random`, `roundRobin` (this member's own turn over the candidates, by
 *   name), `preset` (always the named member), `load` (lowest running /
 *   capacity, then fewest running).
 *
 * Candidates are the members that are `active` (heartbeat younger than
 * inactiveAfter), in execution mode active, on a site in execution mode
 * active, and allowed: `allowed` lists `self`, `other`, member names and
 * `/regex/` (empty: all; regexes are linear-time re2js); `allowedTags`
 * keeps members with the tags (`,` OR, `+` AND: "linux+prod,win"), and
 * `preferredTags` narrows the allowed ones to those with these tags when
 * any has them. A profile applies its own policy to named projects.
 */
import { RE2JS } from 're2js';
import type { Config, RemoteProfile } from '../config/schema.js';
import { TandemError } from '../errors.js';

export type PolicySpec = Omit<RemoteProfile, 'projects'>;

export interface Candidate {
  name: string;
  tags: string[];
  running: number;
  capacity: number;
}

/** The policy for a project: the first profile naming it, else the site-wide one. */
export function policyFor(config: Config, project: string): PolicySpec {
  for (const p of Object.values(config.cluster.remoteExecution.profiles ?? {})) {
    if (p.projects.includes(project)) return p;
  }
  const r = config.cluster.remoteExecution;
  return { policy: r.policy, allowed: r.allowed, allowedTags: r.allowedTags, preferredTags: r.preferredTags, preset: r.preset };
}

/** "a+b,c" → [[a, b], [c]]: any group whose tags a member all has. */
export function parseTagExpression(expr: string): string[][] {
  return expr
    .split(',')
    .map((g) => g.split('+').map((t) => t.trim()).filter(Boolean))
    .filter((g) => g.length > 0);
}

export function matchesTags(tags: readonly string[], groups: string[][]): boolean {
  return groups.some((g) => g.every((t) => tags.includes(t)));
}

function allowedBy(entries: readonly string[], self: string): (name: string) => boolean {
  if (!entries.length) return () => true;
  const tests = entries.map((e) => {
    if (e === 'self') return (n: string) => n === self;
    if (e === 'other') return (n: string) => n !== self;
    if (e.length > 2 && e.startsWith('/') && e.endsWith('/')) {
      const re = RE2JS.compile(e.slice(1, -1));
      return (n: string) => re.matches(n);
    }
    return (n: string) => n === e;
  });
  return (n) => tests.some((t) => t(n));
}

/** Validate the configured policies once at start (bad regexes, a preset policy without a member). */
export function checkPolicies(config: Config): void {
  const all: [string, PolicySpec][] = [['cluster.remoteExecution', policyFor(config, '\u0000')]];
  for (const [name, p] of Object.entries(config.cluster.remoteExecution.profiles ?? {})) all.push([`cluster.remoteExecution.profiles.${name}`, p]);
  for (const [field, p] of all) {
    if (p.policy === 'preset' && !p.preset) throw new TandemError('invalid_config', `${field}: policy preset needs preset: MEMBER`, { field: `${field}.preset` });
    try {
      allowedBy(p.allowed, '');
    } catch (e) {
      throw new TandemError('invalid_config', `${field}.allowed: invalid regex (${(e as Error).message})`, { field: `${field}.allowed` });
    }
  }
}

export class MemberChooser {
  private turn = 0;

  constructor(private readonly self: string) {}

  /**
   * The member to run an execution, or null when no candidate is allowed.
   * `exclude`: members not to choose again (one that did not start it in time).
   */
  choose(spec: PolicySpec, candidates: readonly Candidate[], exclude: readonly string[] = []): string | null {
    if (spec.policy === 'none') return this.self;
    const allowed = allowedBy(spec.allowed, this.self);
    const tagGroups = parseTagExpression(spec.allowedTags);
    let pool = candidates.filter((c) => allowed(c.name) && !exclude.includes(c.name) && (!tagGroups.length || matchesTags(c.tags, tagGroups)));
    const preferred = parseTagExpression(spec.preferredTags);
    if (preferred.length) {
      const p = pool.filter((c) => matchesTags(c.tags, preferred));
      if (p.length) pool = p;
    }
    if (!pool.length) return null;
    pool = [...pool].sort((a, b) => a.name.localeCompare(b.name));
    switch (spec.policy) {
      case 'preset':
        return pool.find((c) => c.name === spec.preset)?.name ?? null;
      case 'random':
        return pool[Math.floor(Math.random() * pool.length)]!.name;
      case 'roundRobin':
        return pool[this.turn++ % pool.length]!.name;
      case 'load': {
        const ratio = (c: Candidate) => (c.capacity > 0 ? c.running / c.capacity : c.running);
        return pool.reduce((best, c) => (ratio(c) < ratio(best) || (ratio(c) === ratio(best) && c.running < best.running) ? c : best)).name;
      }
    }
  }
}
