/**
 * API tokens: `tdm_` + 32 random bytes (base64url). The token is shown once;
 * the database keeps only its SHA-256, which is enough to look it up (the
 * token has 256 bits of entropy, so a slow hash would add nothing).
 */
import { createHash, randomBytes } from 'node:crypto';
import { insertToken } from './sql/insert-token.js';
import { getTokenByHash } from './sql/get-token-by-hash.js';
import type { Db } from '../db/db.js';
import type { TokenRecord } from './sql/token-row.js';
import { TandemError } from '../errors.js';

export const TOKEN_PREFIX = 'tdm_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function newTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export interface CreateTokenOptions {
  user: string;
  roles: string[];
  expiresAt?: Date;
  description?: string;
  /** Who asked for it (default: the owner). */
  createdBy?: string;
}

const ROLE_RE = /^[A-Za-z0-9_.:@-]{1,100}$/;

export function validateRoles(roles: string[], field = 'roles'): void {
  for (const r of roles) {
    if (!ROLE_RE.test(r)) throw new TandemError('validation_failed', `invalid role name ${JSON.stringify(r)} (letters, digits and _.:@- only)`, { field });
  }
}

/** Create a token; the returned `token` is the only copy of the secret. */
export async function createToken(db: Db, opts: CreateTokenOptions): Promise<{ id: string; token: string }> {
  if (!opts.user || opts.user.length > 256) throw new TandemError('validation_failed', 'a token needs a user name (at most 256 characters)', { field: 'user' });
  validateRoles(opts.roles);
  if (opts.expiresAt && !(opts.expiresAt.getTime() > Date.now()))
    throw new TandemError('validation_failed', 'expiry must be in the future', { field: 'expiresAt' });
  const token = newTokenSecret();
  const { id } = await insertToken(db, {
    tokenHash: hashToken(token),
    username: opts.user,
    roles: [...new Set(opts.roles)],
    description: opts.description ?? '',
    createdBy: opts.createdBy ?? opts.user,
    expiresAt: opts.expiresAt ?? null,
  });
  return { id, token };
}

export type TokenCheck =
  | {
      ok: true;
      token: TokenRecord;
      /**
       * The roles the token may use now: its own, narrowed to the owner's
       * roles at their last login when the owner has logged in — a token
       * never stays wider than its owner after the owner lost a role.
       */
      roles: string[];
      groups: string[];
    }
  | { ok: false; reason: 'unknown' | 'revoked' | 'expired' };

/** Look a presented token up and say whether it may be used now. */
export async function checkToken(db: Db, presented: string): Promise<TokenCheck> {
  if (!presented.startsWith(TOKEN_PREFIX) || presented.length > 200) return { ok: false, reason: 'unknown' };
  const found = await getTokenByHash(db, hashToken(presented));
  if (!found) return { ok: false, reason: 'unknown' };
  const rec = found.token;
  if (rec.revokedAt) return { ok: false, reason: 'revoked' };
  if (rec.expiresAt && rec.expiresAt.getTime() <= Date.now()) return { ok: false, reason: 'expired' };
  const roles = found.ownerRoles ? rec.roles.filter((r) => found.ownerRoles!.includes(r)) : rec.roles;
  return { ok: true, token: rec, roles, groups: found.ownerGroups ?? [] };
}

/** JSON shape of a token in API answers (never the secret or its hash). */
export function tokenJson(t: TokenRecord): Record<string, unknown> {
  return {
    id: t.id,
    user: t.username,
    roles: t.roles,
    description: t.description,
    createdBy: t.createdBy,
    createdAt: t.createdAt.toISOString(),
    expiresAt: t.expiresAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
    lastUsedAt: t.lastUsedAt?.toISOString() ?? null,
    state: t.revokedAt ? 'revoked' : t.expiresAt && t.expiresAt.getTime() <= Date.now() ? 'expired' : 'active',
  };
}
