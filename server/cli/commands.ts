/** Every `tandem` subcommand, in the order `tandem --help` lists them. */
import type { Command } from './command.js';
import { migrateCommand } from './migrate.js';
import { serverCommand } from './server.js';
import { demoCommand } from '../../replicator/cli/demo.js';
import { configCheckCommand } from './config-check.js';
import { tokenCommands } from './token.js';
import { userCommands } from './user.js';
import { aclCommands } from './acl.js';
import { failoverCommands, replicatorCommands } from '../../replicator/cli/index.js';
import { siteCommands } from './site.js';
import { membersCommands } from './members.js';
import { keysCommands } from './keys.js';

export const commands: Command[] = [serverCommand, migrateCommand, demoCommand, configCheckCommand, ...tokenCommands, ...userCommands, ...aclCommands, ...replicatorCommands, ...siteCommands, ...failoverCommands, ...membersCommands, ...keysCommands];
