/**
 * The `tandem` command (bin/tandem.js runs `main`): every subcommand, in the
 * order `tandem --help` lists them, with its one-line summary. It is composed
 * here because the dependency direction is replicator -> server: this layer
 * may import the job server's commands (server/cli/) and the replicator's
 * (this folder); the parsing and dispatch are server/cli/main.ts.
 *
 * Each command's module is imported only when that command is chosen (dynamic
 * import below), so `tandem replicate` does not load the job server (koa,
 * ldapts, ssh2, @google-cloud/storage, nodemailer): see CommandEntry in
 * server/cli/command.ts. When adding a command, add its line here; keep static
 * imports of command modules out of this file (test/cli/lazy-commands.test.ts).
 */
import type { CommandEntry } from '../../server/cli/command.js';
import { runTandem } from '../../server/cli/main.js';

const commands: CommandEntry[] = [
  { name: 'server', summary: 'run the job server (HTTP API, scheduler, executions)', load: async () => (await import('../../server/cli/server.js')).serverCommand },
  { name: 'migrate', summary: "apply the database migrations of sql/ to a site's database", load: async () => (await import('../../server/cli/migrate.js')).migrateCommand },
  { name: 'demo', summary: 'run two Tandem sites (active a, passive b) with replication on one machine, to try failover', load: async () => (await import('./demo.js')).demoCommand },
  { name: 'config check', summary: 'validate a configuration and check the database, LDAP, log store, sites and key storage it names', load: async () => (await import('../../server/cli/config-check.js')).configCheckCommand },
  { name: 'token create', summary: 'create an API token (printed once, stored hashed)', load: async () => (await import('../../server/cli/token.js')).tokenCreateCommand },
  { name: 'token list', summary: 'list API tokens (never their secrets)', load: async () => (await import('../../server/cli/token.js')).tokenListCommand },
  { name: 'token revoke', summary: 'revoke an API token by id', load: async () => (await import('../../server/cli/token.js')).tokenRevokeCommand },
  { name: 'user add', summary: 'add a local user (password from standard input)', load: async () => (await import('../../server/cli/user.js')).userAddCommand },
  { name: 'user passwd', summary: "change a local user's password (and optionally roles)", load: async () => (await import('../../server/cli/user.js')).userPasswdCommand },
  { name: 'user remove', summary: 'remove a local user', load: async () => (await import('../../server/cli/user.js')).userRemoveCommand },
  { name: 'acl validate', summary: 'check ACL policy files (*.aclpolicy) and point at the line of each problem', load: async () => (await import('../../server/cli/acl.js')).aclValidateCommand },
  { name: 'replicate', summary: "stream the active site's database changes into this (passive) site's database", load: async () => (await import('./replicate.js')).replicateCommand },
  { name: 'replication status', summary: "show a passive site's replication state, position, lag and last error", load: async () => (await import('./status.js')).replicationStatusCommand },
  { name: 'site init', summary: "record this site's name and role (active or passive) in its database", load: async () => (await import('../../server/cli/site.js')).siteInitCommand },
  { name: 'failover', summary: 'make another site the active one (planned switchover, or --force when the active site is lost)', load: async () => (await import('./failover.js')).failoverCommand },
  { name: 'rejoin', summary: 'rebuild an old active site as a passive of the new active one (after a failover)', load: async () => (await import('./rejoin.js')).rejoinCommand },
  { name: 'status', summary: "every site's role, epoch, health, replication lag and object backlog", load: async () => (await import('./site-status.js')).statusCommand },
  { name: 'members', summary: "this site's cluster members: state, heartbeat, execution mode, load", load: async () => (await import('../../server/cli/members.js')).membersCommand },
  { name: 'members enable', summary: 'let a member (or the site) take new executions again', load: async () => (await import('../../server/cli/members.js')).membersEnableCommand },
  { name: 'members disable', summary: 'stop new executions and schedules on a member (or the whole site); running ones finish', load: async () => (await import('../../server/cli/members.js')).membersDisableCommand },
  { name: 'keys rotate', summary: 're-encrypt every Key Storage entry under keyStorage.masterKey (after a master key change)', load: async () => (await import('../../server/cli/keys.js')).keysRotateCommand },
];

/** Runs `tandem ARGV...` and answers its exit code. */
export function main(argv: string[], out?: (s: string) => void): Promise<number> {
  return runTandem(commands, argv, out);
}
