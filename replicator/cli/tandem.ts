/**
 * The `tandem` command (bin/tandem.js runs `main`): every subcommand, in the
 * order `tandem --help` lists them. It is composed here because the
 * dependency direction is replicator -> server: this layer may import the job
 * server's commands (server/cli/) and the replicator's (this folder); the
 * parsing and dispatch are server/cli/main.ts.
 */
import type { Command } from '../../server/cli/command.js';
import { runTandem } from '../../server/cli/main.js';
import { migrateCommand } from '../../server/cli/migrate.js';
import { serverCommand } from '../../server/cli/server.js';
import { demoCommand } from './demo.js';
import { configCheckCommand } from '../../server/cli/config-check.js';
import { tokenCommands } from '../../server/cli/token.js';
import { userCommands } from '../../server/cli/user.js';
import { aclCommands } from '../../server/cli/acl.js';
import { failoverCommands, replicatorCommands } from './index.js';
import { siteCommands } from '../../server/cli/site.js';
import { membersCommands } from '../../server/cli/members.js';
import { keysCommands } from '../../server/cli/keys.js';

const commands: Command[] = [serverCommand, migrateCommand, demoCommand, configCheckCommand, ...tokenCommands, ...userCommands, ...aclCommands, ...replicatorCommands, ...siteCommands, ...failoverCommands, ...membersCommands, ...keysCommands];

/** Runs `tandem ARGV...` and answers its exit code. */
export function main(argv: string[], out?: (s: string) => void): Promise<number> {
  return runTandem(commands, argv, out);
}
