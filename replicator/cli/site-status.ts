/** `tandem status`: every site's role, epoch, health, replication lag and object backlog. */
import { requireKeys } from '../../server/config/load.js';
import { EXIT_CODES } from '../../server/errors.js';
import { siteStatus, formatStatusTable } from '../failover/index.js';
import type { Command } from '../../server/cli/command.js';

export const statusCommand: Command = {
  help: `
Usage: tandem status [--json] --config FILE

For every site of the configuration (sites:): its role and epoch (from its
database), whether its job server answers /health/active with 200 (active),
503 (not active) or not at all (down), and on passive sites the last applied
source commit, the seconds since it (an upper bound of the lag), the
replicator's state and the log object backlog; on every site its job-server
members by state (see tandem members). Warns when no site, or more
than one, is active. Exit status 0 when exactly one site is active, 1 otherwise.

Flags:
  --json   one JSON document instead of the table

Examples:
  tandem status --config /etc/tandem/tandem.yaml
  tandem status --config /etc/tandem/tandem.yaml --json
`,
  flags: { json: { type: 'boolean' } },
  async run(ctx) {
    const cfg = ctx.config();
    requireKeys(cfg, ['sites']);
    const rows = await siteStatus(cfg.sites!, { inactiveAfterMs: cfg.cluster.inactiveAfter, deadAfterMs: cfg.cluster.deadAfter });
    if (ctx.values.json) ctx.out(JSON.stringify({ sites: rows }, null, 2));
    else for (const l of formatStatusTable(rows)) ctx.out(l);
    return rows.filter((r) => r.role === 'active').length === 1 ? EXIT_CODES.ok : EXIT_CODES.failed;
  },
};
