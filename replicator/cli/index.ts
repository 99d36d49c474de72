/** The replicator's commands, registered in server/cli/commands.ts. */
import type { Command } from '../../server/cli/command.js';
import { replicateCommand } from './replicate.js';
import { replicationStatusCommand } from './status.js';

export const replicatorCommands: Command[] = [replicateCommand, replicationStatusCommand];
