/**
 * The local users file (`auth.usersFile`, e.g. users.yaml):
 *
 *   users:
 *     admin:
 *       password: $scrypt$N=32768,r=8,p=1$...$...
 *       roles: [admin]
 *
 * Written only by `tandem user add|passwd|remove`, atomically (temporary
 * file + rename) and readable by its owner only.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, LineCounter, parseDocument, stringify } from 'yaml';
import { TandemError } from '../../errors.js';
import { isPasswordHash } from '../password.js';
import { validateRoles } from '../tokens.js';

export interface LocalUser {
  password: string;
  roles: string[];
  name?: string;
}

export type UsersFile = Map<string, LocalUser>;

export const USERNAME_RE = /^[^\s:/\\*()\x00-\x1f]{1,100}$/u;

function bad(file: string, lc: LineCounter, offset: number | undefined, msg: string): never {
  const pos = lc.linePos(offset ?? 0);
  throw new TandemError('invalid_config', `${file}:${pos.line}:${pos.col}: ${msg}`, { field: 'auth.usersFile' });
}

export function readUsersFile(file: string): UsersFile {
  if (!existsSync(file)) return new Map();
  const lc = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lc });
  if (doc.errors.length) bad(file, lc, doc.errors[0]!.pos[0], `invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const out: UsersFile = new Map();
  if (doc.contents === null) return out;
  if (!isMap(doc.contents)) bad(file, lc, 0, 'expected a mapping with a "users" key');
  const usersNode = doc.get('users', true);
  if (usersNode === undefined || usersNode === null) return out;
  if (!isMap(usersNode)) bad(file, lc, (usersNode as { range?: number[] }).range?.[0], '"users" must be a mapping of user name → {password, roles}');
  for (const pair of usersNode.items) {
    const keyNode = pair.key as { value?: unknown; range?: number[] };
    const name = String(keyNode.value);
    const v = (pair.value as { toJSON?: () => unknown } | null)?.toJSON?.() as Record<string, unknown> | undefined;
    if (!USERNAME_RE.test(name)) bad(file, lc, keyNode.range?.[0], `invalid user name ${JSON.stringify(name)}`);
    if (!v || typeof v !== 'object') bad(file, lc, keyNode.range?.[0], `user ${name}: expected password and roles`);
    if (typeof v.password !== 'string' || !isPasswordHash(v.password))
      bad(file, lc, keyNode.range?.[0], `user ${name}: password must be a $scrypt$ hash (set it with tandem user passwd)`);
    const roles = v.roles === undefined ? [] : v.roles;
    if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string')) bad(file, lc, keyNode.range?.[0], `user ${name}: roles must be a list of names`);
    validateRoles(roles as string[]);
    out.set(name, { password: v.password, roles: roles as string[], ...(typeof v.name === 'string' ? { name: v.name } : {}) });
  }
  return out;
}

export function writeUsersFile(file: string, users: UsersFile): void {
  const obj: Record<string, LocalUser> = {};
  for (const [k, v] of [...users].sort(([a], [b]) => a.localeCompare(b))) obj[k] = v;
  const text = '# Tandem local users: edit with `tandem user add|passwd|remove`.\n' + stringify({ users: obj });
  const tmp = path.join(path.dirname(path.resolve(file)), `.${path.basename(file)}.${process.pid}.tmp`);
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}
