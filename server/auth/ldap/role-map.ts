/**
 * `auth.ldap.roleMap`: `group=role,group=role` (group = the group's cn,
 * compared case-insensitively; a group may appear several times to give
 * several roles). With an empty map, group names are used as role names
 * directly, as Rundeck does.
 */
import { TandemError } from '../../errors.js';

export type RoleMap = Map<string, string[]>;

export function parseRoleMap(text: string): RoleMap {
  const map: RoleMap = new Map();
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.lastIndexOf('=');
    const group = part.slice(0, eq).trim().toLowerCase();
    const role = part.slice(eq + 1).trim();
    if (eq <= 0 || !group || !role)
      throw new TandemError('invalid_config', `auth.ldap.roleMap: "${part}" is not group=role`, { field: 'auth.ldap.roleMap' });
    map.set(group, [...(map.get(group) ?? []), role]);
  }
  return map;
}

export function rolesFor(groups: string[], map: RoleMap, supplemental: string[]): string[] {
  const roles = new Set<string>(supplemental);
  for (const g of groups) {
    if (map.size === 0) roles.add(g);
    else for (const r of map.get(g.toLowerCase()) ?? []) roles.add(r);
  }
  return [...roles].sort();
}
