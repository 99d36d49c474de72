/** The replicator's commands, registered in replicator/cli/tandem.ts. */
import type { Command } from '../../server/cli/command.js';
import { replicateCommand } from './replicate.js';
import { replicationStatusCommand } from './status.js';
import { failoverCommand } from './failover.js';
import { rejoinCommand } from './rejoin.js';
import { statusCommand } from './site-status.js';

export const replicatorCommands: Command[] = [replicateCommand, replicationStatusCommand];

/** Switchover, failover, rejoin and every site's status: listed after `site init` in replicator/cli/tandem.ts. */
export const failoverCommands: Command[] = [failoverCommand, rejoinCommand, statusCommand];
