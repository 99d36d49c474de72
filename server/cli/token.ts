/**
 * `tandem token create|list|revoke`: API tokens from the command line, for
 * bootstrapping (the first admin token) and for operators with database
 * access. Tokens created here are not limited by the owner's roles: whoever
 * can reach the database is trusted.
 */
import pg from 'pg';
import { requireKeys } from '../config/load.js';
import { parseDuration } from '../config/fields.js';
import { TandemError } from '../errors.js';
import { createToken, tokenJson } from '../auth/tokens.js';
import { listTokens } from '../auth/sql/list-tokens.js';
import { revokeToken } from '../auth/sql/revoke-token.js';
import { recordAudit } from '../auth/audit.js';
import type { Command, CommandContext } from './command.js';
import { SQLSTATE, sqlstateOf } from '../db/sqlstate.js';

async function withPool<T>(ctx: CommandContext, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const cfg = ctx.config();
  requireKeys(cfg, ['database.url']);
  const pool = new pg.Pool({ connectionString: cfg.database.url, max: 1, application_name: 'tandem-token' });
  // An idle pooled connection lost: the next query reconnects; unhandled, the pool's 'error' event would crash the process.
  pool.on('error', () => undefined);
  try {
    return await fn(pool);
  } catch (e) {
    if (sqlstateOf(e) === SQLSTATE.UNDEFINED_TABLE)
      throw new TandemError('bad_request', 'the database has no token table yet: run "tandem migrate" first');
    throw e;
  } finally {
    await pool.end();
  }
}

function operator(): string {
  return `cli:${process.env.USER ?? process.env.LOGNAME ?? 'unknown'}`;
}

export const tokenCreateCommand: Command = {
  help: `
Usage: tandem token create --user NAME --role ROLE [--role ROLE ...] [--expires 30d]
                           [--description TEXT] [--database-url URL]

Creates an API token for NAME with the given roles. Requests send it as
"Authorization: Bearer TOKEN". The token is printed once, alone on the last
line of the output; only its SHA-256 is stored.

Flags:
  --user NAME          owner of the token
  --role ROLE          role of the token (repeat, or comma-separate, for several)
  --expires DURATION   lifetime such as 12h, 30d (default: no expiry)
  --description TEXT   what the token is for
  --database-url URL   PostgreSQL URL (or TANDEM_DATABASE_URL, or database.url in the config)

Example:
  tandem token create --database-url postgres://tandem@127.0.0.1:5432/tandem --user ci --role user --expires 30d
`,
  flags: {
    user: { type: 'string' },
    role: { type: 'string', multiple: true },
    expires: { type: 'string' },
    description: { type: 'string' },
  },
  configFlags: { 'database-url': 'database.url' },
  async run(ctx) {
    const user = ctx.values.user as string | undefined;
    if (!user) throw new TandemError('usage', 'missing --user NAME (see tandem token create --help)');
    const roles = ((ctx.values.role as string[] | undefined) ?? []).flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean);
    if (!roles.length) throw new TandemError('usage', 'missing --role ROLE (see tandem token create --help)');
    let expiresAt: Date | undefined;
    if (ctx.values.expires !== undefined) {
      try {
        expiresAt = new Date(Date.now() + parseDuration(ctx.values.expires));
      } catch (why) {
        throw new TandemError('usage', `--expires: ${String(why)}`);
      }
    }
    const description = (ctx.values.description as string | undefined) ?? '';
    const created = await withPool(ctx, async (pool) => {
      const c = await createToken(pool, { user, roles, expiresAt, description, createdBy: operator() });
      await recordAudit(pool, { event: 'token.created', outcome: 'success', username: operator(), target: `token ${c.id}`, details: { owner: user, roles, expiresAt: expiresAt?.toISOString() ?? null, via: 'cli' } });
      return c;
    });
    ctx.out(`created token ${created.id} for ${user} (roles: ${roles.join(', ')}; ${expiresAt ? `expires ${expiresAt.toISOString()}` : 'no expiry'})`);
    ctx.out('store it now, it is not shown again:');
    ctx.out(created.token);
  },
};

export const tokenListCommand: Command = {
  help: `
Usage: tandem token list [--user NAME] [--json] [--database-url URL]

Lists tokens (all, or those of NAME): id, owner, roles, state, expiry, last use.

Example:
  tandem token list --user ci --database-url postgres://tandem@127.0.0.1:5432/tandem
`,
  flags: { user: { type: 'string' }, json: { type: 'boolean' } },
  configFlags: { 'database-url': 'database.url' },
  async run(ctx) {
    const list = await withPool(ctx, (pool) => listTokens(pool, (ctx.values.user as string | undefined) ?? null));
    if (ctx.values.json) {
      ctx.out(JSON.stringify(list.map(tokenJson), null, 2));
      return;
    }
    if (!list.length) ctx.out('no tokens');
    for (const t of list.map(tokenJson))
      ctx.out(`${t.id}  ${t.user}  roles=${(t.roles as string[]).join(',')}  ${t.state}  expires=${t.expiresAt ?? 'never'}  lastUsed=${t.lastUsedAt ?? 'never'}  ${t.description}`);
  },
};

export const tokenRevokeCommand: Command = {
  help: `
Usage: tandem token revoke ID [--database-url URL]

Revokes the token with this id (from tandem token list); it stops working at once.

Example:
  tandem token revoke 0b6f3c1e-5d2a-4c8e-9f61-2a7d3e4b5c6d --database-url postgres://tandem@127.0.0.1:5432/tandem
`,
  allowPositionals: true,
  configFlags: { 'database-url': 'database.url' },
  async run(ctx) {
    const id = ctx.positionals[0];
    if (!id || ctx.positionals.length > 1) throw new TandemError('usage', 'give exactly one token id (see tandem token revoke --help)');
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new TandemError('usage', `"${id}" is not a token id`);
    const ok = await withPool(ctx, async (pool) => {
      const r = await revokeToken(pool, id, operator());
      if (r) await recordAudit(pool, { event: 'token.revoked', outcome: 'success', username: operator(), target: `token ${id}`, details: { via: 'cli' } });
      return r;
    });
    if (!ok) throw new TandemError('not_found', `no active token ${id}`);
    ctx.out(`revoked token ${id}`);
  },
};
