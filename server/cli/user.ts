/**
 * `tandem user add|passwd|remove`: the local users file (auth.usersFile),
 * with scrypt password hashes. The password is read from standard input
 * (first line), so it never appears in the process list or shell history.
 */
import { TandemError } from '../errors.js';
import { hashPassword } from '../auth/password.js';
import { USERNAME_RE, readUsersFile, writeUsersFile } from '../auth/local/users-file.js';
import { validateRoles } from '../auth/tokens.js';
import type { Command, CommandContext } from './command.js';

function usersFilePath(ctx: CommandContext): string {
  const file = ctx.config().auth.usersFile;
  if (!file) throw new TandemError('usage', 'no users file: pass --users-file FILE (or set auth.usersFile / TANDEM_AUTH_USERS_FILE)');
  return file;
}

function oneName(ctx: CommandContext, cmd: string): string {
  const name = ctx.positionals[0];
  if (!name || ctx.positionals.length !== 1) throw new TandemError('usage', `give exactly one user name (see tandem ${cmd} --help)`);
  if (!USERNAME_RE.test(name)) throw new TandemError('usage', `invalid user name ${JSON.stringify(name)} (no spaces, control characters or :/\\*())`);
  return name;
}

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password (then Enter; input is not hidden, prefer piping it): ');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) {
    chunks.push(c as Buffer);
    if (Buffer.concat(chunks).includes(10)) break;
  }
  const pw = Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  if (pw.length < 8) throw new TandemError('validation_failed', 'the password must have at least 8 characters (read from the first line of standard input)');
  return pw;
}

function roles(ctx: CommandContext): string[] {
  const list = ((ctx.values.role as string[] | undefined) ?? []).flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean);
  validateRoles(list, '--role');
  return list;
}

const common = { configFlags: { 'users-file': 'auth.usersFile' }, allowPositionals: true } as const;

export const userAddCommand: Command = {
  help: `
Usage: tandem user add NAME --role ROLE [--role ROLE...] [--users-file FILE]

Adds NAME to the local users file with a scrypt hash of the password read
from the first line of standard input. Local users can log in beside LDAP
(a break-glass administrator) or instead of it.

Example:
  printf '%s\\n' "$ADMIN_PASSWORD" | tandem user add admin --role admin --users-file /etc/tandem/users.yaml
`,
  flags: { role: { type: 'string', multiple: true } },
  ...common,
  async run(ctx) {
    const name = oneName(ctx, 'user add');
    const file = usersFilePath(ctx);
    const r = roles(ctx);
    if (!r.length) throw new TandemError('usage', 'give at least one --role (e.g. --role admin or --role user)');
    const users = readUsersFile(file);
    if (users.has(name)) throw new TandemError('conflict', `user ${name} already exists in ${file} (use tandem user passwd to change the password)`);
    users.set(name, { password: await hashPassword(await readPassword()), roles: r });
    writeUsersFile(file, users);
    ctx.out(`added ${name} (roles: ${r.join(', ')}) to ${file}`);
  },
};

export const userPasswdCommand: Command = {
  help: `
Usage: tandem user passwd NAME [--role ROLE...] [--users-file FILE]

Replaces NAME's password with the first line of standard input; with
--role, replaces the roles too.

Example:
  printf '%s\\n' "$NEW_PASSWORD" | tandem user passwd admin --users-file /etc/tandem/users.yaml
`,
  flags: { role: { type: 'string', multiple: true } },
  ...common,
  async run(ctx) {
    const name = oneName(ctx, 'user passwd');
    const file = usersFilePath(ctx);
    const users = readUsersFile(file);
    const u = users.get(name);
    if (!u) throw new TandemError('not_found', `no user ${name} in ${file}`);
    const r = roles(ctx);
    users.set(name, { ...u, password: await hashPassword(await readPassword()), ...(r.length ? { roles: r } : {}) });
    writeUsersFile(file, users);
    ctx.out(`changed the password of ${name}${r.length ? ` and set roles ${r.join(', ')}` : ''}`);
  },
};

export const userRemoveCommand: Command = {
  help: `
Usage: tandem user remove NAME [--users-file FILE]

Removes NAME from the local users file. Existing sessions of the user end at
their expiry; revoke API tokens with tandem token revoke.

Example:
  tandem user remove olduser --users-file /etc/tandem/users.yaml
`,
  ...common,
  async run(ctx) {
    const name = oneName(ctx, 'user remove');
    const file = usersFilePath(ctx);
    const users = readUsersFile(file);
    if (!users.delete(name)) throw new TandemError('not_found', `no user ${name} in ${file}`);
    writeUsersFile(file, users);
    ctx.out(`removed ${name} from ${file}`);
  },
};
